import Foundation
@testable import ResearchStore
@testable import ResearchStoreHTTP
import Testing

@Suite("The context written as bytes")
struct ContextBytesTests {
    func message(_ seq: Int, content: String, model: String?, metadata: JSONValue, estimated: Bool) -> Message {
        Message(
            id: UUID(), sessionID: UUID(), seq: seq, role: seq.isMultiple(of: 2) ? "assistant" : "user", content: content,
            tokenCount: seq * 7, tokenCountEstimated: estimated, model: model, metadata: metadata,
            createdAt: Date(timeIntervalSince1970: 1_700_000_000.123 + Double(seq)))
    }

    @Test("is byte for byte the tree's serialisation: escapes, unicode, null model, raw and parsed metadata")
    func sameBytesAsTheTree() throws {
        let session = Session(
            id: UUID(), userID: "u-1", title: "t \"q\"", status: "active", metadata: .raw(#"{"a": 1}"#), messageCount: 3,
            totalTokens: 42, createdAt: Date(timeIntervalSince1970: 1_700_000_000), updatedAt: Date(timeIntervalSince1970: 1_700_000_001),
            lastMessageAt: nil)
        let messages = [
            message(1, content: "tab\t quote\" backslash\\ newline\n \u{01} ✓ 𝄞", model: nil, metadata: .raw("{}"), estimated: true),
            message(2, content: "", model: "gpt-\"x\"", metadata: .object([("k", .array([.number("1.50"), .null, .bool(false)]))]),
                    estimated: false),
        ]
        let research = ContextWindow.Research(
            id: UUID(), question: "why?", workflowType: "w", result: .raw(#"{"r": [1]}"#),
            finishedAt: Date(timeIntervalSince1970: 1_700_000_100.5))
        for window in [
            ContextWindow(session: session, messages: messages, tokenCount: 21, truncated: true, omittedMessages: 1, research: [research]),
            ContextWindow(session: session, messages: [], tokenCount: 0, truncated: false, omittedMessages: 0, research: []),
        ] {
            #expect(window.jsonBytes == window.json.serializedBytes)
        }
        for message in messages {
            var bytes: [UInt8] = []
            message.writeJSON(to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == message.json.serialized)
        }
    }
}
