import FoundationEssentials
import Postgres

/// One message of a session; `seq` is 1, 2, 3 … within the session, assigned by the store.
public struct Message: Sendable, Equatable {
    public var id: UUID
    public var sessionID: UUID
    public var seq: Int
    public var role: String
    public var content: String
    public var tokenCount: Int
    public var tokenCountEstimated: Bool
    /// The exact counts of `content`; nil until counted (stored before v2, or with
    /// `TOKEN_ENCODING=estimate`, and not yet backfilled).
    public var tokens: MessageTokens?
    public var model: String?
    public var metadata: JSONValue
    public var createdAt: Date

    public static let roles = ["user", "assistant", "system", "tool"]

    static let columns: StaticString = """
        m.id, m.session_id, m.seq, m.role, m.content, m.token_count, m.token_count_estimated, m.model, m.metadata,
        m.created_at, m.tokens_o200k, m.tokens_cl100k
        """

    /// `columns` but `content`: what a store reads back, since it sent the content itself.
    static let columnsButContent: StaticString = """
        m.id, m.session_id, m.seq, m.role, m.token_count, m.token_count_estimated, m.model, m.metadata, m.created_at,
        m.tokens_o200k, m.tokens_cl100k
        """

    /// A row of `columnsButContent`, with the content that was stored.
    init(row: PostgresRow, content: String) throws {
        let (id, sessionID, seq, role, tokenCount, estimated, model, metadata, createdAt, o200k, cl100k) = try row.decode(
            (UUID, UUID, Int, String, Int, Bool, String?, PostgresRawJSON, Date, Int?, Int?).self)
        self.init(
            id: id, sessionID: sessionID, seq: seq, role: role, content: content, tokenCount: tokenCount,
            tokenCountEstimated: estimated, model: model, metadata: .raw(metadata.text), createdAt: createdAt,
            tokens: MessageTokens(o200k: o200k, cl100k: cl100k))
    }

    init(row: PostgresRow) throws {
        let (id, sessionID, seq, role, content, tokenCount, estimated, model, metadata, createdAt, o200k, cl100k) =
            try row.decode((UUID, UUID, Int, String, String, Int, Bool, String?, PostgresRawJSON, Date, Int?, Int?).self)
        self.init(
            id: id, sessionID: sessionID, seq: seq, role: role, content: content, tokenCount: tokenCount,
            tokenCountEstimated: estimated, model: model, metadata: .raw(metadata.text), createdAt: createdAt,
            tokens: MessageTokens(o200k: o200k, cl100k: cl100k))
    }

    public init(
        id: UUID, sessionID: UUID, seq: Int, role: String, content: String, tokenCount: Int, tokenCountEstimated: Bool,
        model: String?, metadata: JSONValue, createdAt: Date, tokens: MessageTokens? = nil
    ) {
        self.id = id
        self.sessionID = sessionID
        self.seq = seq
        self.role = role
        self.content = content
        self.tokenCount = tokenCount
        self.tokenCountEstimated = tokenCountEstimated
        self.tokens = tokens
        self.model = model
        self.metadata = metadata
        self.createdAt = createdAt
    }

    /// The estimate used when a client sends no `token_count`: UTF-8 bytes / 4, rounded up.
    public static func estimatedTokens(_ content: String) -> Int {
        (content.utf8.count + 3) / 4
    }
}

/// A message as a client submits it, validated.
struct SubmittedMessage: Sendable {
    var id: UUID
    var role: String
    var content: String
    /// What the client sent, if anything.
    var tokenCount: Int?
    var model: String?
    var metadata: JSONValue

    /// This message, ready to store: counted in both encodings unless `mode` is `.estimate`, with
    /// `token_count` falling back to what `mode` says when the client sent none.
    func counted(_ tokens: MessageTokens?, mode: TokenCountingMode) -> NewMessage {
        let fallback: Int
        switch mode {
        case .estimate: fallback = Message.estimatedTokens(content)
        case .exact(let encoding): fallback = tokens?[encoding] ?? Message.estimatedTokens(content)
        }
        return NewMessage(
            id: id, role: role, content: content, tokenCount: tokenCount ?? fallback,
            tokenCountEstimated: tokenCount == nil && tokens == nil, tokens: tokens, model: model, metadata: metadata)
    }
}

/// A message ready to store: validated and counted.
struct NewMessage: Sendable {
    var id: UUID
    var role: String
    var content: String
    var tokenCount: Int
    var tokenCountEstimated: Bool
    var tokens: MessageTokens?
    var model: String?
    var metadata: JSONValue
}

extension MessageTokens {
    /// Both counts of a row, or nil when it has not been counted.
    init?(o200k: Int?, cl100k: Int?) {
        guard let o200k, let cl100k else { return nil }
        self.init(o200kBase: o200k, cl100kBase: cl100k)
    }
}

/// One `POST /db/messages/store`: a message for a session, on behalf of a caller; with
/// `expectedSeq`, only if that is the seq it gets (an optimistic append).
struct MessageAppend: Sendable, Identifiable {
    var id: UUID { message.id }
    var sessionID: UUID
    var caller: Caller
    var message: NewMessage
    var expectedSeq: Int?
}

extension MessageAppend {
    /// `appends` split into statements (index lists, in order) so that every optimistic append
    /// is the first of its session in its statement: its seq is then the session's count + 1,
    /// known before the statement numbers anything. One statement unless a group holds an
    /// optimistic append behind another store to the same session; a session's stores keep
    /// their order across statements.
    static func statements(_ appends: [MessageAppend]) -> [[Int]] {
        var statements: [[Int]] = []
        var lastStatement: [UUID: Int] = [:]
        for (index, append) in appends.enumerated() {
            let statement = lastStatement[append.sessionID].map { append.expectedSeq == nil ? $0 : $0 + 1 } ?? 0
            if statement == statements.count { statements.append([]) }
            statements[statement].append(index)
            lastStatement[append.sessionID] = statement
        }
        return statements
    }
}
