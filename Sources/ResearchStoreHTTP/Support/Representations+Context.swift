import FoundationEssentials
import ResearchStore

// How an LLM context window looks on the wire.

extension ContextWindow {
    /// The bytes of `json`, with the messages written straight into the buffer (see
    /// `Message.writeJSON`): the same text, for a fraction of the allocations.
    var jsonBytes: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(messages.reduce(1024) { $0 + 320 + $1.content.utf8.count })
        output.append(contentsOf: #"{"session":"#.utf8)
        session.json.write(to: &output)
        output.append(contentsOf: #","messages":["#.utf8)
        for (index, message) in messages.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            message.writeJSON(to: &output)
        }
        output.append(contentsOf: #"],"token_count":\#(tokenCount),"encoding":"#.utf8)
        if let encoding { JSONValue.writeString(encoding.rawValue, to: &output) } else { output.append(contentsOf: "null".utf8) }
        output.append(contentsOf: #","first_seq":\#(firstSeq.map(String.init) ?? "null")"#.utf8)
        output.append(contentsOf: #","truncated":\#(truncated),"omitted_messages":\#(omittedMessages),"research":"#.utf8)
        researchJSON.write(to: &output)
        output.append(UInt8(ascii: "}"))
        return output
    }

    var json: JSONValue {
        .object([
            ("session", session.json),
            ("messages", .array(messages.map(\.json))),
            ("token_count", .integer(tokenCount)),
            ("encoding", encoding.map { .string($0.rawValue) } ?? .null),
            ("first_seq", firstSeq.map { .integer($0) } ?? .null),
            ("truncated", .bool(truncated)),
            ("omitted_messages", .integer(omittedMessages)),
            ("research", researchJSON),
        ])
    }

    private var researchJSON: JSONValue {
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
    }
}
