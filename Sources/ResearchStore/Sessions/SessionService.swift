import FoundationEssentials
import PostgresPool

/// Sessions: one conversation of one user. Validates input, scopes every query to the caller.
public struct SessionService: Sendable {
    let store: SessionStore
    let audit: AdminReadAudit
    let cursors: CursorSigner
    let groupCommit: GroupCommit<NewSession, Session>

    /// Creates are committed in groups (`groupCommit`), as message stores are.
    public init(pool: PostgresPool, cursors: CursorSigner, groupCommit limits: GroupCommitLimits = .init()) {
        let store = SessionStore(pool: pool)
        self.store = store
        audit = AdminReadAudit(pool: pool)
        self.cursors = cursors
        groupCommit = GroupCommit(limits: limits) { await Self.createEach($0, store: store) }
    }

    /// What the group commit of creates has done and is doing.
    public var groupCommitStatistics: GroupCommitStatistics { groupCommit.statistics }

    static let titleLength = 1...200
    static let listLimit = Paging(defaultLimit: 20, maximumLimit: 100)

    /// `POST /db/sessions/create`: `{"user_id"?, "title", "metadata"?}`, committed with whatever
    /// other creates are waiting; inside a shared transaction (an `Idempotency-Key`), there.
    public func create(caller: Caller, body: JSONValue) async throws -> Session {
        var input = InputReader(body)
        let owner = input.string(
            "user_id", required: false, length: 1...128, allowed: CharacterClass.userID, description: Caller.userIDDescription)
        let title = input.string("title", length: Self.titleLength)
        let metadata = input.object("metadata")
        try input.finish()
        let userID = owner ?? caller.userID
        guard userID == caller.userID || caller.isAdmin else {
            throw ServiceError(.forbidden, "only an admin may create a session for another user")
        }
        let new = NewSession(id: UUIDv7.make(), userID: userID, title: title!, metadata: metadata ?? .object([]))
        guard !store.pool.isInSharedTransaction else {
            return try await database(table: "sessions") { try await store.createEach([new])[0] }
        }
        return try await groupCommit.write(new)
    }

    /// One group's creates in one statement (see `writeGroup`).
    static func createEach(_ sessions: [NewSession], store: SessionStore) async -> [Result<Session, any Error>] {
        await writeGroup(sessions) { sessions in
            try await database(table: "sessions") { try await store.createEach(sessions) }.map { .success($0) }
        }
    }

    /// `GET /db/sessions/{id}`.
    public func get(caller: Caller, id: String) async throws -> Session {
        try await lookUp("session", id: id, table: "sessions") { id in
            try await audit.reading(caller, .session(id)) { try await store.find(id: id, caller: caller) }
        }
    }

    /// `PATCH /db/sessions/{id}`: `{"title"?, "status"?, "metadata"?}`; metadata is replaced whole.
    public func update(caller: Caller, id: String, body: JSONValue) async throws -> Session {
        var input = InputReader(body)
        let title = input.string("title", required: false, length: Self.titleLength)
        let status = input.choice("status", required: false, of: Session.statuses)
        let metadata = input.object("metadata")
        try input.finish()
        return try await lookUp("session", id: id, table: "sessions") {
            try await store.update(id: $0, caller: caller, title: title, status: status, metadata: metadata)
        }
    }

    /// `POST /db/sessions/{id}/fork`: `{"up_to_seq"?, "title"?}` → a new session of the same owner
    /// with copies of messages 1…`up_to_seq` (default: all), same seqs, new ids, and
    /// `metadata.forked_from = {"session_id", "seq"}`. Research requests stay with the source.
    public func fork(caller: Caller, id: String, body: JSONValue) async throws -> Session {
        var input = InputReader(body)
        let upToSeq = input.integer("up_to_seq", required: false, in: 0...Int64(Int32.max)).map { Int($0) }
        let title = input.string("title", required: false, length: Self.titleLength)
        try input.finish()
        do {
            return try await lookUp("session", id: id, table: "sessions") { source in
                try await audit.reading(caller, .session(source)) {
                    try await store.fork(
                        source, caller: caller, upToSeq: upToSeq, title: title, newID: UUIDv7.make(),
                        ids: { count in (0..<count).map { _ in UUIDv7.make() } })
                }
            }
        } catch SessionStore.ForkRefusal.beyondLastSeq(let last) {
            throw ServiceError.invalid(field: "up_to_seq", "must be at most the session's last seq (\(last))")
        }
    }

    /// `DELETE /db/sessions/{id}`: the session with its messages, research requests and events.
    public func delete(caller: Caller, id: String) async throws {
        _ = try await lookUp("session", id: id, table: "sessions") { try await store.delete(id: $0, caller: caller) ? true : nil }
    }

    /// `GET /db/sessions?user_id=&status=&limit=&cursor=`: the caller's sessions (an admin's:
    /// anyone's), most recently updated first.
    public func list(caller: Caller, query: [String: String]) async throws -> Page<Session> {
        var reader = QueryReader(query)
        let userID = reader.string(
            "user_id", length: 1...128, allowed: CharacterClass.userID, description: Caller.userIDDescription)
        let status = reader.choice("status", of: Session.statuses)
        let limit = reader.limit(Self.listLimit)
        try reader.finish()
        let cursor = try reader.timeCursor(kind: "sessions", signer: cursors)
        if let userID, userID != caller.userID, !caller.isAdmin {
            throw ServiceError(.forbidden, "only an admin may list another user's sessions")
        }
        let owner = caller.isAdmin ? userID : caller.userID
        let sessions = try await database(table: "sessions") {
            let list = { try await store.list(userID: owner, status: status, after: cursor, limit: limit + 1) }
            guard let owner else { return try await list() }
            return try await audit.reading(caller, .user(owner), list)
        }
        return Page(items: sessions, limit: limit, signer: cursors) {
            Cursor(kind: "sessions", position: $0.updatedAt.millisecondsSince1970, id: $0.id)
        }
    }
}
