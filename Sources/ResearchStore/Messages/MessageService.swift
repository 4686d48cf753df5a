import FoundationEssentials
import Postgres
import PostgresPool

/// Messages: stored in order with a gapless per-session `seq`, read back by page or by id.
public struct MessageService: Sendable {
    let store: MessageStore
    let cursors: CursorSigner
    let counting: TokenCountingMode
    let groupCommit: GroupCommit<MessageAppend, Message>

    /// Single stores are committed in groups (`groupCommit`); `flushed` is told each group's size.
    /// Messages are counted as `counting` says (`TOKEN_ENCODING`).
    public init(
        pool: PostgresPool, cursors: CursorSigner, counting: TokenCountingMode = .default,
        groupCommit limits: GroupCommitLimits = .init(), flushed: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        let store = MessageStore(pool: pool)
        self.store = store
        self.cursors = cursors
        self.counting = counting
        groupCommit = GroupCommit(limits: limits, flushed: flushed) { await Self.appendEach($0, store: store) }
    }

    /// What the group commit of single stores has done and is doing.
    public var groupCommitStatistics: GroupCommitStatistics { groupCommit.statistics }

    static let contentBytes = 256 * 1024
    static let batchSize = 1...1000
    static let listLimit = Paging(defaultLimit: 50, maximumLimit: 200)

    /// `POST /db/messages/store`: one message → the stored message, committed with whatever
    /// other stores are waiting (see `GroupCommit`). Inside a shared transaction (an
    /// `Idempotency-Key`) it is written there instead, to commit with the key. With
    /// `expected_seq`, it is stored only if it gets that seq (else `409` with `current_seq`).
    public func store(caller: Caller, body: JSONValue) async throws -> Message {
        var input = InputReader(body)
        let sessionID = input.uuid("session_id")
        let expectedSeq = Self.readExpectedSeq(&input)
        let submitted = Self.readMessage(body, path: "", input: &input)
        try input.finish()
        let message = try await counted([submitted!]).first
        if store.pool.isInSharedTransaction {
            return try await append([message!], to: sessionID!, caller: caller, expectedSeq: expectedSeq)[0]
        }
        return try await groupCommit.write(
            MessageAppend(sessionID: sessionID!, caller: caller, message: message!, expectedSeq: expectedSeq))
    }

    /// `POST /db/messages/batch`: up to 1000 messages, stored in the given order, all or nothing.
    public func storeBatch(caller: Caller, body: JSONValue) async throws -> [Message] {
        var input = InputReader(body)
        let sessionID = input.uuid("session_id")
        let expectedSeq = Self.readExpectedSeq(&input)
        let submitted = input.array("messages", count: Self.batchSize) { reader, item, path in
            Self.readMessage(item, path: path, input: &reader)
        }
        try input.finish()
        return try await append(try await counted(submitted!), to: sessionID!, caller: caller, expectedSeq: expectedSeq)
    }

    /// `expected_seq`: the seq the (first) new message must get; seqs start at 1.
    private static func readExpectedSeq(_ input: inout InputReader) -> Int? {
        input.integer("expected_seq", required: false, in: 1...Int64(Int32.max)).map { Int($0) }
    }

    /// `messages` ready to store: counted in both encodings unless the mode is `.estimate`.
    private func counted(_ messages: [SubmittedMessage]) async throws -> [NewMessage] {
        guard case .exact = counting else { return messages.map { $0.counted(nil, mode: counting) } }
        let tokens = try await MessageTokens.count(messages.map(\.content))
        return zip(messages, tokens).map { $0.counted($1, mode: counting) }
    }

    /// `GET /db/messages/{id}`.
    public func get(caller: Caller, id: String) async throws -> Message {
        try await lookUp("message", id: id, table: "messages") { id in
            try await AdminReadAudit(pool: store.pool).reading(caller, .message(id)) { try await store.find(id: id, caller: caller) }
        }
    }

    /// `GET /db/sessions/{id}/messages?limit=&cursor=&order=asc|desc`.
    public func list(caller: Caller, sessionID: String, query: [String: String]) async throws -> Page<Message> {
        var reader = QueryReader(query)
        let limit = reader.limit(Self.listLimit)
        let order = reader.choice("order", of: ["asc", "desc"]) ?? "asc"
        try reader.finish()
        let kind = "messages-\(order)"
        let cursor = try reader.cursor(kind: kind, signer: cursors)
        let messages = try await lookUp("session", id: sessionID, table: "messages") { id in
            try await AdminReadAudit(pool: store.pool).reading(caller, .session(id)) {
                try await store.page(
                    sessionID: id, caller: caller, ascending: order == "asc", afterSeq: cursor.map { Int(clamping: $0.position) },
                    limit: limit + 1)
            }
        }
        return Page(items: messages, limit: limit, signer: cursors) { Cursor(kind: kind, position: Int64($0.seq)) }
    }

    private func append(_ messages: [NewMessage], to sessionID: UUID, caller: Caller, expectedSeq: Int?) async throws
        -> [Message]
    {
        do {
            return try await database(table: "messages") {
                try await store.append(messages, to: sessionID, caller: caller, expectedSeq: expectedSeq)
            }
        } catch let refusal as MessageStore.Refusal {
            throw Self.error(refusal)
        }
    }

    /// Writes a group of single stores in one statement (see `writeGroup`; a second one only
    /// for an optimistic append behind another store to its session, see
    /// `MessageAppend.statements`); one outcome per store, errors mapped for the client.
    static func appendEach(_ appends: [MessageAppend], store: MessageStore) async -> [Result<Message, any Error>] {
        var outcomes = [Result<Message, any Error>?](repeating: nil, count: appends.count)
        for statement in MessageAppend.statements(appends) {
            let written = await writeGroup(statement.map { appends[$0] }) { appends in
                try await database(table: "messages") { try await store.appendEach(appends) }.map { outcome in
                    outcome.mapError { error in
                        if let refusal = error as? MessageStore.Refusal { return Self.error(refusal) }
                        return ServiceError.mapping(error, table: "messages")
                    }
                }
            }
            for (index, outcome) in zip(statement, written) { outcomes[index] = outcome }
        }
        return outcomes.map { $0! }
    }

    private static func error(_ refusal: MessageStore.Refusal) -> any Error {
        switch refusal {
        case .notFound: ServiceError.notFound("session")
        case .archived: ServiceError(.conflict, "the session is archived; messages cannot be added to it")
        case .seqMismatch(let current):
            ServiceError(
                .conflict, "expected_seq is not the session's next seq (\(current + 1)); nothing was stored", currentSeq: current)
        }
    }

    /// One message's fields (`role`, `content`, `token_count`?, `model`?, `metadata`?).
    static func readMessage(_ value: JSONValue, path: String, input: inout InputReader) -> SubmittedMessage? {
        guard case .object = value else {
            input.merge([FieldError(field: path.isEmpty ? "body" : path, message: "must be an object")])
            return nil
        }
        var fields = InputReader(value, path: path)
        let role = fields.choice("role", of: Message.roles)
        let content = fields.text("content", maximumBytes: contentBytes, allowEmpty: true)
        let tokenCount = fields.integer("token_count", required: false, in: 0...Int64(Int32.max))
        let model = fields.string("model", required: false, nullable: true, length: 1...128)
        let metadata = fields.object("metadata")
        input.merge(fields.errors)
        guard fields.errors.isEmpty, let role, let content else { return nil }
        return SubmittedMessage(
            id: UUIDv7.make(), role: role, content: content, tokenCount: tokenCount.map { Int($0) }, model: model,
            metadata: metadata ?? .object([]))
    }
}
