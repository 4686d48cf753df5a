import FoundationEssentials
import PostgresPool

/// LLM usage: a ledger row per call (tokens, latency, cost), linked to a session or research
/// request when given and scoped like them.
public struct LLMUsageService: Sendable {
    let store: LLMUsageStore

    public init(pool: PostgresPool) {
        store = LLMUsageStore(pool: pool)
    }

    /// `numeric(14, 6)`: below 10^8 dollars, to the millionth.
    static let costLimit = Decimal(100_000_000)

    /// `POST /db/llm-usage`: `{"provider", "model", "prompt_tokens", "completion_tokens",
    /// "duration_ms", "cost_usd"?, "session_id"?, "research_id"?, "request_id"?}`.
    public func record(caller: Caller, body: JSONValue) async throws -> LLMUsage {
        var input = InputReader(body)
        let provider = input.string("provider", length: 1...64)
        let model = input.string("model", length: 1...128)
        let prompt = input.integer("prompt_tokens", in: 0...Int64(Int32.max))
        let completion = input.integer("completion_tokens", in: 0...Int64(Int32.max))
        let duration = input.nonNegativeNumber("duration_ms")
        let cost = readCost(&input)
        let sessionID = input.uuid("session_id", required: false, nullable: true)
        let researchID = input.uuid("research_id", required: false, nullable: true)
        let requestID = input.string("request_id", required: false, nullable: true, length: 1...128)
        try input.finish()
        let usage = NewLLMUsage(
            provider: provider!, model: model!, promptTokens: Int(prompt!), completionTokens: Int(completion!),
            durationMilliseconds: duration!, costUSD: cost, sessionID: sessionID, researchID: researchID,
            requestID: requestID)
        do {
            return try await database(table: "llm_usage") { try await store.insert(usage, id: UUIDv7.make(), caller: caller) }
        } catch let refusal as LLMUsageStore.Refusal {
            switch refusal {
            case .unknownSession:
                throw ServiceError(.notFound, "session not found", fieldErrors: [FieldError(field: "session_id", message: "no such session")])
            case .unknownResearch:
                throw ServiceError(
                    .notFound, "research request not found",
                    fieldErrors: [FieldError(field: "research_id", message: "no such research request")])
            case .researchOfAnotherSession:
                throw ServiceError.invalid(field: "research_id", "belongs to another session than session_id")
            }
        }
    }

    /// `GET /db/llm-usage/{id}`.
    public func get(caller: Caller, id: String) async throws -> LLMUsage {
        try await lookUp("LLM usage record", id: id, table: "llm_usage") { id in
            try await AdminReadAudit(pool: store.pool).reading(caller, .llmUsage(id)) { try await store.find(id: id, caller: caller) }
        }
    }

    /// `cost_usd`: a non-negative number below 10^8 with at most 6 decimals, kept exact.
    private func readCost(_ input: inout InputReader) -> String? {
        guard let value = input.optionalValue("cost_usd", nullable: true) else { return nil }
        guard case .number(let text) = value else {
            input.fail("cost_usd", "must be a number")
            return nil
        }
        guard let exact = DecimalText.exact(text, scale: 6, below: Self.costLimit) else {
            input.fail("cost_usd", "must be from 0 to below 100000000, with at most 6 decimal places")
            return nil
        }
        return exact
    }
}
