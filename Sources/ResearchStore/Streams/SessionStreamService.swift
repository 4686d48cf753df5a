import FoundationEssentials
import PostgresPool

/// What a session stream sends.
public enum SessionEvent: Sendable {
    case message(Message)
    case session(Session)
    case research(ResearchRequest)
    /// The session was deleted; the stream ends.
    case deleted
}

/// Where the process's session streams stand (`STREAM_HEARTBEAT_S`, `MAX_STREAMS`).
public struct StreamSettings: Sendable {
    public var heartbeat: Duration = .seconds(15)
    public var maximumStreams = 1000

    public init() {}
}

/// `GET /db/sessions/{id}/stream`: every message of the session in seq order, then live ones,
/// with session and research changes and the deletion. A stream reads from the database only
/// what the hub's hints say is new, in batches, on pooled connections it returns at once: it
/// holds none while it waits.
public struct SessionStreamService: Sendable {
    let hub: SessionEventHub
    let sessions: SessionStore
    let messages: MessageStore
    let research: ResearchRequestStore

    public init(pool: PostgresPool, hub: SessionEventHub) {
        self.hub = hub
        sessions = SessionStore(pool: pool)
        messages = MessageStore(pool: pool)
        research = ResearchRequestStore(pool: pool)
    }

    /// Messages read per round trip.
    static let batch = 100

    /// A stream that is subscribed and allowed: what `run` continues.
    public struct Opened: Sendable {
        let sessionID: UUID
        let caller: Caller
        let token: Int
        let wakes: AsyncStream<Void>
        let afterSeq: Int
    }

    /// Checks the request and subscribes: `after_seq` in the query, or the `Last-Event-ID` a
    /// reconnecting client sends (it wins), both a seq 0…2147483647. The subscription comes
    /// first and the access check after it, so nothing committed once the stream is open is missed.
    public func open(caller: Caller, sessionID: String, query: [String: String], lastEventID: String?) async throws -> Opened {
        var reader = QueryReader(query)
        let afterSeq = reader.integer("after_seq", in: 0...Int(Int32.max), default: 0)
        try reader.finish()
        var resumeFrom = afterSeq
        if let lastEventID {
            guard let seq = Int(lastEventID), (0...Int(Int32.max)).contains(seq) else {
                throw ServiceError.invalid(field: "Last-Event-ID", "must be a seq from 0 to 2147483647")
            }
            resumeFrom = seq
        }
        guard let id = UUID(uuidString: sessionID) else { throw ServiceError.notFound("session") }
        guard let (token, wakes) = hub.subscribe(id) else {
            throw ServiceError(.unavailable, "this process has \(hub.maximumStreams) streams open; retry shortly", retryAfterSeconds: 1)
        }
        do {
            let session = try await database(table: "sessions") { try await sessions.find(id: id, caller: caller) }
            guard session != nil else { throw ServiceError.notFound("session") }
        } catch {
            hub.unsubscribe(token)
            throw error
        }
        return Opened(sessionID: id, caller: caller, token: token, wakes: wakes, afterSeq: resumeFrom)
    }

    /// Ends a running stream at its next turn (its server is shutting down).
    public func end(_ opened: Opened) {
        hub.end(opened.token)
    }

    /// Runs the stream until the session is deleted, the process shuts down, or `emit` throws
    /// (the client went away). `emit([])` is a keep-alive.
    public func run(_ opened: Opened, emit: ([SessionEvent]) async throws -> Void) async throws {
        defer { hub.unsubscribe(opened.token) }
        var lastSeq = opened.afterSeq
        var behind = true  // the catch-up first
        var wakes = opened.wakes.makeAsyncIterator()
        while true {
            let signals = hub.take(opened.token)
            if signals.ending { return }
            if signals.deleted {
                try await emit([.deleted])
                return
            }
            var events: [SessionEvent] = []
            if behind || signals.catchUp || signals.messagesUpTo > lastSeq {
                let page = try await database(table: "messages") {
                    try await messages.page(
                        sessionID: opened.sessionID, caller: opened.caller, ascending: true, afterSeq: lastSeq, limit: Self.batch)
                }
                guard let page else {
                    try await emit([.deleted])
                    return
                }
                events += page.map(SessionEvent.message)
                lastSeq = page.last?.seq ?? lastSeq
                behind = page.count == Self.batch
            }
            if signals.sessionChanged {
                guard let session = try await database(table: "sessions", { try await sessions.find(id: opened.sessionID, caller: opened.caller) })
                else {
                    try await emit([.deleted])
                    return
                }
                events.append(.session(session))
            }
            for id in signals.research.sorted(by: { $0.uuidString < $1.uuidString }) {
                if let request = try await database(table: "research_requests", { try await research.find(id: id, caller: opened.caller) }) {
                    events.append(.research(request))
                }
            }
            if !events.isEmpty {
                try await emit(events)
            } else if signals.tick {
                try await emit([])
            }
            if behind { continue }
            guard await wakes.next() != nil else { return }
        }
    }
}
