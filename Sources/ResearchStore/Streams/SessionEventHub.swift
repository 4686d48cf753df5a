import FoundationEssentials
import Synchronization

/// What happened to a session since a stream last looked: a coalesced set of hints, so a
/// stream that falls behind holds a few fields, never a queue.
struct SessionSignals: Sendable {
    /// The highest seq announced.
    var messagesUpTo = 0
    var sessionChanged = false
    var deleted = false
    var research: Set<UUID> = []
    /// Notifications may have been missed (the listener reconnected): read everything again.
    var catchUp = false
    /// Time for a keep-alive.
    var tick = false
    /// The process is shutting down: end the stream.
    var ending = false
}

/// The streams of this process by session, and the hints the listener hands them (see
/// `SessionEventListener`). Bounded by `settings.maximumStreams`.
public final class SessionEventHub: Sendable {
    struct Subscriber {
        var sessionID: UUID
        var signals = SessionSignals()
        var wake: AsyncStream<Void>.Continuation
    }

    struct State {
        var subscribers: [Int: Subscriber] = [:]
        var bySession: [UUID: Set<Int>] = [:]
        var nextToken = 0
        var ending = false
    }

    private let state = Mutex(State())
    public let settings: StreamSettings
    public var maximumStreams: Int { settings.maximumStreams }

    public init(settings: StreamSettings = StreamSettings()) {
        self.settings = settings
    }

    /// Open streams.
    public var count: Int { state.withLock { $0.subscribers.count } }

    /// A new subscription for `sessionID`, or nil when `maximumStreams` are open (or the process
    /// is shutting down).
    func subscribe(_ sessionID: UUID) -> (token: Int, wakes: AsyncStream<Void>)? {
        let (wakes, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        return state.withLock { state in
            guard state.subscribers.count < maximumStreams, !state.ending else { return nil }
            let token = state.nextToken
            state.nextToken += 1
            state.subscribers[token] = Subscriber(sessionID: sessionID, wake: continuation)
            state.bySession[sessionID, default: []].insert(token)
            return (token, wakes)
        }
    }

    func unsubscribe(_ token: Int) {
        let subscriber = state.withLock { state -> Subscriber? in
            guard let subscriber = state.subscribers.removeValue(forKey: token) else { return nil }
            state.bySession[subscriber.sessionID]?.remove(token)
            if state.bySession[subscriber.sessionID]?.isEmpty == true { state.bySession[subscriber.sessionID] = nil }
            return subscriber
        }
        subscriber?.wake.finish()
    }

    /// The hints gathered for `token` since the last call, cleared.
    func take(_ token: Int) -> SessionSignals {
        state.withLock { state in
            guard var subscriber = state.subscribers[token] else { return SessionSignals(ending: true) }
            let signals = subscriber.signals
            subscriber.signals = SessionSignals()
            state.subscribers[token] = subscriber
            return signals
        }
    }

    /// Hands one notification payload (`SessionEventListener`) to the streams of its session.
    func deliver(_ payload: String) {
        let parts = payload.split(separator: " ")
        guard parts.count >= 2, let sessionID = UUID(uuidString: String(parts[1])) else { return }
        update(session: sessionID) { signals in
            switch parts[0] {
            case "m": signals.messagesUpTo = max(signals.messagesUpTo, parts.count > 2 ? Int(parts[2]) ?? 1 : 1)
            case "s": signals.sessionChanged = true
            case "d": signals.deleted = true
            case "r": if parts.count > 2, let id = UUID(uuidString: String(parts[2])) { signals.research.insert(id) }
            default: break
            }
        }
    }

    /// Marks every stream (after a listener reconnect: `catchUp`; a heartbeat: `tick`; shutdown: `ending`).
    func signalAll(_ change: (inout SessionSignals) -> Void) {
        let wakes = state.withLock { state in
            for token in state.subscribers.keys { change(&state.subscribers[token]!.signals) }
            return state.subscribers.values.map(\.wake)
        }
        for wake in wakes { wake.yield() }
    }

    /// Ends one stream (its server is shutting down).
    func end(_ token: Int) {
        let wake = state.withLock { state -> AsyncStream<Void>.Continuation? in
            state.subscribers[token]?.signals.ending = true
            return state.subscribers[token]?.wake
        }
        wake?.yield()
    }

    /// Ends every stream and refuses new ones: the process is shutting down.
    func endAll() {
        state.withLock { $0.ending = true }
        signalAll { $0.ending = true }
    }

    private func update(session sessionID: UUID, _ change: (inout SessionSignals) -> Void) {
        let wakes = state.withLock { state -> [AsyncStream<Void>.Continuation] in
            guard let tokens = state.bySession[sessionID] else { return [] }
            return tokens.compactMap { token in
                change(&state.subscribers[token]!.signals)
                return state.subscribers[token]?.wake
            }
        }
        for wake in wakes { wake.yield() }
    }
}
