import Foundation
import ResearchStore

// How an LLM context window looks on the wire.

extension ContextWindow {
    var json: JSONValue {
        .object([
            ("session", session.json),
            ("messages", .array(messages.map(\.json))),
            ("token_count", .integer(tokenCount)),
            ("truncated", .bool(truncated)),
            ("omitted_messages", .integer(omittedMessages)),
            (
                "research",
                .array(
                    research.map {
                        .object([
                            ("id", .string($0.id.lowercased)),
                            ("question", .string($0.question)),
                            ("workflow_type", .string($0.workflowType)),
                            ("result", $0.result),
                            ("finished_at", .timestamp($0.finishedAt)),
                        ])
                    })
            ),
        ])
    }
}
