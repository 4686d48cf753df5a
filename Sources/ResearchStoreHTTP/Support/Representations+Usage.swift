import FoundationEssentials
import ResearchStore

// How an LLM usage record looks on the wire.

extension LLMUsage {
    var json: JSONValue {
        .object([
            ("id", .string(id.lowercased)),
            ("user_id", .string(userID)),
            ("provider", .string(provider)),
            ("model", .string(model)),
            ("prompt_tokens", .integer(promptTokens)),
            ("completion_tokens", .integer(completionTokens)),
            ("total_tokens", .integer(totalTokens)),
            ("duration_ms", .double(durationMilliseconds)),
            ("cost_usd", costUSD.map(JSONValue.number) ?? .null),
            ("session_id", sessionID.map { .string($0.lowercased) } ?? .null),
            ("research_id", researchID.map { .string($0.lowercased) } ?? .null),
            ("request_id", requestID.map(JSONValue.string) ?? .null),
            ("created_at", .timestamp(createdAt)),
        ])
    }
}
