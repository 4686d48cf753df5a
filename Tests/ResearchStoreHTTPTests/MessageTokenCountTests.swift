import Foundation
import HummingbirdTesting
import ResearchStore
import TestSupport
import Testing
import Tokenizer

/// Exact counts at write time (`tokens`, and `token_count` when the client sends none), as
/// `TOKEN_ENCODING` decides.
@Suite("Message token counts")
struct MessageTokenCountTests {
    /// tiktoken 0.14.0 counts it 26 (o200k_base) and 39 (cl100k_base); 56 UTF-8 bytes.
    static let mixed = "naïve café 👩‍👩‍👧‍👦 🇺🇦 東京 สวัสดี\r\n\r\n   "

    func store(_ client: some TestClientProtocol, user: String, session: String, extra: String = "") async throws -> [String: Any] {
        let response = try await client.call(
            .post, "/db/messages/store", as: user,
            json: #"{"session_id": "\#(session)", "role": "user", "content": \#(quoted(Self.mixed))\#(extra)}"#)
        #expect(response.status == .created)
        return try json(response)
    }

    @Test("token_count falls back to the count in TOKEN_ENCODING; a sent token_count is kept, tokens are counted all the same")
    func exactFallback() async throws {
        let user = uniqueUser()
        for (mode, expected) in [(TokenCountingMode.exact(.o200kBase), 26), (.exact(.cl100kBase), 39)] {
            try await withAPI(tokenCounting: mode) { client in
                let session = try await createSession(client, user: user)
                let counted = try await store(client, user: user, session: session)
                #expect(counted["token_count"] as? Int == expected, "\(mode)")
                #expect(counted["token_count_estimated"] as? Bool == false)
                #expect(counted["tokens"] as? [String: Int] == ["o200k_base": 26, "cl100k_base": 39])
                let sent = try await store(client, user: user, session: session, extra: #", "token_count": 7"#)
                #expect(sent["token_count"] as? Int == 7)
                #expect(sent["token_count_estimated"] as? Bool == false)
                #expect(sent["tokens"] as? [String: Int] == ["o200k_base": 26, "cl100k_base": 39])
                let read = try json(try await client.call(.get, "/db/messages/\(try #require(counted["id"] as? String))", as: user))
                #expect(read["tokens"] as? [String: Int] == ["o200k_base": 26, "cl100k_base": 39])
                let updated = try json(try await client.call(.get, "/db/sessions/\(session)", as: user))
                #expect(updated["total_tokens"] as? Int == expected + 7)
            }
        }
    }

    @Test("TOKEN_ENCODING=estimate keeps v1: UTF-8 bytes / 4, marked estimated, and nothing counted")
    func estimateKeepsV1() async throws {
        let user = uniqueUser()
        try await withAPI(tokenCounting: .estimate) { client in
            let session = try await createSession(client, user: user)
            let message = try await store(client, user: user, session: session)
            #expect(message["token_count"] as? Int == (Self.mixed.utf8.count + 3) / 4)
            #expect(message["token_count_estimated"] as? Bool == true)
            #expect(message["tokens"] is NSNull)
            let page = try json(try await client.call(.get, "/db/sessions/\(session)/messages", as: user))
            #expect((page["items"] as? [[String: Any]])?.first?["tokens"] is NSNull)
        }
    }

    @Test("a batch is counted message by message, also when it is large enough to be counted off the cooperative pool")
    func batch() async throws {
        let user = uniqueUser()
        var random = SeededRandom(seed: 12)
        // About 100 KiB in all: above the 64 KiB counted inline.
        let contents = (0..<40).map { _ in TextMaker.text(&random, pieces: 250...400) }
        #expect(contents.reduce(0) { $0 + $1.utf8.count } > 64 * 1024)
        let o200k = try BPETokenizer.shared(.o200kBase)
        let cl100k = try BPETokenizer.shared(.cl100kBase)
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let items = contents.map { #"{"role": "assistant", "content": \#(quoted($0))}"# }.joined(separator: ",")
            let response = try await client.call(
                .post, "/db/messages/batch", as: user, json: #"{"session_id": "\#(session)", "messages": [\#(items)]}"#)
            #expect(response.status == .created)
            let stored = try #require(try json(response)["items"] as? [[String: Any]])
            let page = try json(try await client.call(.get, "/db/sessions/\(session)/messages?limit=200", as: user))
            let read = try #require(page["items"] as? [[String: Any]])
            #expect(stored.count == contents.count && read.count == contents.count)
            for (index, content) in contents.enumerated() where index < stored.count && index < read.count {
                let expected = ["o200k_base": o200k.count(content), "cl100k_base": cl100k.count(content)]
                #expect(stored[index]["tokens"] as? [String: Int] == expected, "message \(index)")
                #expect(read[index]["tokens"] as? [String: Int] == expected, "message \(index)")
                #expect(stored[index]["token_count"] as? Int == expected["o200k_base"])
            }
        }
    }
}

/// Texts the tokenizers split in many ways: words, code, digits, runs of spaces, CRLF, emoji
/// sequences, CJK and Thai.
enum TextMaker {
    static let pieces = [
        "the ", "research ", "assistant", " flow", " batteries", " age", ".", ",", "?", "!\n", "\r\n", "\n\n", "   ", "\t",
        "1234567", " 42", "3.14159", "func f(x: Int) -> Int { x * 2 }", "{\"k\": [1, 2]}", "https://example.org/a?b=c",
        "東京の天気", "สวัสดีครับ", "مرحبا", "👩‍👩‍👧‍👦", "🇺🇦", "é", "e\u{301}", "ß", "I'm", " don't", "'LL", "ÀÉÎ",
    ]

    static func text(_ random: inout SeededRandom, pieces range: ClosedRange<Int>) -> String {
        (0..<Int.random(in: range, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
    }
}
