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

/// Where the process's session streams stand (`STREAM_HEARTBEAT_S`, `MAX_STREAMS`,
/// `STREAM_WRITE_TIMEOUT_S`).
public struct StreamSettings: Sendable {
    public var heartbeat: Duration = .seconds(15)
    public var maximumStreams = 1000
    /// A stream whose client takes no data for this long (its socket buffers are full) is
    /// ended and its connection closed, so a stalled client holds no slot for good.
    public var writeTimeout: Duration = .seconds(30)

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

    /// Messages read per round trip, and the content they may carry (one message always fits).
    static let batch = 100
    static let batchBytes = 1 << 20
    /// The research requests of a session a stream compares after its listener reconnected:
    /// the newest ones, by creation.
    static let researchWindow = 200

    /// A stream that is subscribed and allowed: what `run` continues.
    public struct Opened: Sendable {
        let sessionID: UUID
        let caller: Caller
        let token: Int
        let wakes: AsyncStream<Void>
        let afterSeq: Int
        /// The session as the stream opened.
        let session: Session
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
            guard let session else { throw ServiceError.notFound("session") }
            return Opened(sessionID: id, caller: caller, token: token, wakes: wakes, afterSeq: resumeFrom, session: session)
        } catch {
            hub.unsubscribe(token)
            throw error
        }
    }

    /// How long one write of events may wait for a client that stopped reading.
    public var writeTimeout: Duration { hub.settings.writeTimeout }

    /// Ends a running stream at its next turn (its server is shutting down).
    public func end(_ opened: Opened) {
        hub.end(opened.token)
    }

    /// Runs the stream until the session is deleted, the process shuts down, or `emit` throws
    /// (the client went away). `emit([])` is a keep-alive.
    ///
    /// After the listener reconnected (`catchUp`), notifications may have been lost: the stream
    /// reads its messages on from its last seq, and compares the session and the states of its
    /// research requests with what it last knew, sending those that changed (a request that
    /// changed several times meanwhile is sent once, as it now stands).
    public func run(_ opened: Opened, emit: ([SessionEvent]) async throws -> Void) async throws {
        defer { hub.unsubscribe(opened.token) }
        var lastSeq = opened.afterSeq
        var behind = true  // the catch-up first
        var known = try await KnownState(
            session: opened.session,
            research: database(table: "research_requests") {
                try await research.states(sessionID: opened.sessionID, caller: opened.caller, limit: Self.researchWindow)
            })
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
                    try await messages.streamPage(
                        sessionID: opened.sessionID, caller: opened.caller, afterSeq: lastSeq, limit: Self.batch,
                        maximumBytes: Self.batchBytes)
                }
                guard let page else {
                    try await emit([.deleted])
                    return
                }
                events += page.map(SessionEvent.message)
                lastSeq = page.last?.seq ?? lastSeq
                // A full page, or one the byte bound cut: there may be more.
                behind = page.count == Self.batch || page.reduce(0) { $0 + $1.content.utf8.count } >= Self.batchBytes
            }
            var researchChanged = signals.research
            if signals.sessionChanged || signals.catchUp {
                guard let session = try await database(table: "sessions", { try await sessions.find(id: opened.sessionID, caller: opened.caller) })
                else {
                    try await emit([.deleted])
                    return
                }
                if signals.sessionChanged || known.differs(session) { events.append(.session(session)) }
                known.session = session
            }
            if signals.catchUp {
                let states = try await database(table: "research_requests") {
                    try await research.states(sessionID: opened.sessionID, caller: opened.caller, limit: Self.researchWindow)
                }
                researchChanged.formUnion(states.filter { known.research[$0.key] != $0.value }.keys)
            }
            for id in researchChanged.sorted(by: { $0.uuidString < $1.uuidString }) {
                // Sent on a change of state only: the notification of a request committed just
                // before the stream opened may arrive after it, and repeats what the stream knew.
                if let request = try await database(table: "research_requests", { try await research.find(id: id, caller: opened.caller) }),
                    known.research[request.id] != ResearchState(status: request.status, attempt: request.attempt)
                {
                    events.append(.research(request))
                    known.remember(request)
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

/// What a stream last sent or saw of its session, to tell after missed notifications what changed.
struct KnownState {
    var session: Session
    var research: [UUID: ResearchState]

    /// Whether a client would see a change: the title, status or metadata (the counters move with every message).
    func differs(_ current: Session) -> Bool {
        (session.title, session.status, session.metadata) != (current.title, current.status, current.metadata)
    }

    /// Records a request sent; requests beyond the window's size are recorded only if known, so
    /// a long stream of a busy session stays small (one it forgets may be sent once more after a reconnect).
    mutating func remember(_ request: ResearchRequest) {
        guard research[request.id] != nil || research.count < 2 * SessionStreamService.researchWindow else { return }
        research[request.id] = ResearchState(status: request.status, attempt: request.attempt)
    }
}
