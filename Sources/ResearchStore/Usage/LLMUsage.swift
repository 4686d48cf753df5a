import FoundationEssentials
import Postgres

/// One LLM call: who made it, on which model, how many tokens, how long, at what cost.
public struct LLMUsage: Sendable, Equatable {
    public var id: UUID
    public var userID: String
    public var provider: String
    public var model: String
    public var promptTokens: Int
    public var completionTokens: Int
    /// `prompt_tokens + completion_tokens`, computed by the database.
    public var totalTokens: Int64
    public var durationMilliseconds: Double
    /// The exact decimal text (at most 6 fraction digits), nil when the client sent none.
    public var costUSD: String?
    public var sessionID: UUID?
    public var researchID: UUID?
    public var requestID: String?
    public var createdAt: Date

    static let columns: StaticString = """
        id, user_id, provider, model, prompt_tokens, completion_tokens, total_tokens, duration_ms, cost_usd::text,
        session_id, research_id, request_id, created_at
        """

    init(row: PostgresRow) throws {
        let (id, userID, provider, model, prompt, completion, total, duration, cost, session, research, request, at) =
            try row.decode(
                (UUID, String, String, String, Int, Int, Int64, Double, String?, UUID?, UUID?, String?, Date).self)
        self.init(
            id: id, userID: userID, provider: provider, model: model, promptTokens: prompt, completionTokens: completion,
            totalTokens: total, durationMilliseconds: duration, costUSD: cost.map(DecimalText.trimmed),
            sessionID: session, researchID: research, requestID: request, createdAt: at)
    }

    public init(
        id: UUID, userID: String, provider: String, model: String, promptTokens: Int, completionTokens: Int,
        totalTokens: Int64, durationMilliseconds: Double, costUSD: String?, sessionID: UUID?, researchID: UUID?,
        requestID: String?, createdAt: Date
    ) {
        self.id = id
        self.userID = userID
        self.provider = provider
        self.model = model
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
        self.durationMilliseconds = durationMilliseconds
        self.costUSD = costUSD
        self.sessionID = sessionID
        self.researchID = researchID
        self.requestID = requestID
        self.createdAt = createdAt
    }
}

/// An LLM call as a client reports it, validated.
struct NewLLMUsage: Sendable {
    var provider: String
    var model: String
    var promptTokens: Int
    var completionTokens: Int
    var durationMilliseconds: Double
    var costUSD: String?
    var sessionID: UUID?
    var researchID: UUID?
    var requestID: String?
}

/// Exact decimal numbers as text, as PostgreSQL's `numeric` keeps them.
public enum DecimalText {
    /// `0.012300` → `0.0123`, `5.000000` → `5`.
    public static func trimmed(_ text: String) -> String {
        guard text.contains(".") else { return text }
        var trimmed = Substring(text)
        while trimmed.hasSuffix("0") { trimmed = trimmed.dropLast() }
        if trimmed.hasSuffix(".") { trimmed = trimmed.dropLast() }
        return String(trimmed)
    }

    /// The JSON number `text` as plain decimal text, if it is ≥ 0, below `limit` and has at most
    /// `scale` fraction digits (so storing it in `numeric(p, scale)` changes nothing).
    static func exact(_ text: String, scale: Int16, below limit: Decimal) -> String? {
        guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), !value.isNaN,
            value >= 0, value < limit
        else { return nil }
        // Decimal prints plain digits, never an exponent; its fraction digits past the last
        // non-zero one are the rounding the column would do.
        let plain = trimmed("\(value)")
        let fractionDigits = plain.firstIndex(of: ".").map { plain.distance(from: $0, to: plain.endIndex) - 1 } ?? 0
        guard fractionDigits <= Int(scale) else { return nil }
        return plain
    }
}
