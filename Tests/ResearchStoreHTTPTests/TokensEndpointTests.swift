import Foundation
import HTTPTypes
import HummingbirdTesting
import TestSupport
import Testing
import Tokenizer

/// `POST /db/tokens/count`. The expected counts are tiktoken 0.14.0's (`encode_ordinary`, and
/// the chat format of OpenAI's cookbook); the golden tests of TokenizerTests cover the ids.
@Suite("Token counts")
struct TokensEndpointTests {
    @Test("text and chat messages are counted as tiktoken counts them, in both encodings")
    func counts() async throws {
        let texts: [(text: String, o200k: Int, cl100k: Int)] = [
            ("Hello, world!", 4, 4),
            ("<|endoftext|> is ordinary text", 10, 10),
            ("naïve café 👩‍👩‍👧‍👦 🇺🇦 東京 สวัสดี\r\n\r\n   ", 26, 39),
            ("", 0, 0),
        ]
        let messages = """
            [{"role": "system", "content": "You are a careful research assistant."},
             {"role": "user", "content": "How do flow batteries age?", "name": "alice"},
             {"role": "assistant", "content": "They lose capacity.", "name": null}]
            """
        try await withAPI { client in
            for (text, o200k, cl100k) in texts {
                for (encoding, expected) in [("o200k_base", o200k), ("cl100k_base", cl100k)] {
                    let response = try await client.call(
                        .post, "/db/tokens/count", as: uniqueUser(), json: #"{"encoding": "\#(encoding)", "text": \#(quoted(text))}"#)
                    #expect(response.status == .ok)
                    let body = try json(response)
                    #expect(body["encoding"] as? String == encoding)
                    #expect(body["tokens"] as? Int == expected, "\(encoding) of \(text.debugDescription)")
                }
            }
            for encoding in ["o200k_base", "cl100k_base"] {
                let response = try await client.call(
                    .post, "/db/tokens/count", as: uniqueUser(), json: #"{"encoding": "\#(encoding)", "messages": \#(messages)}"#)
                #expect(response.status == .ok)
                #expect(try json(response)["tokens"] as? Int == 34, "\(encoding)")
            }
        }
    }

    @Test("an unknown encoding, neither or both of text and messages, and bad messages are 422 naming the field")
    func badInput() async throws {
        try await withAPI { client in
            let user = uniqueUser()
            let cases: [(body: String, fields: [String])] = [
                (#"{"encoding": "p50k_base", "text": "a"}"#, ["encoding"]),
                (#"{"text": "a"}"#, ["encoding"]),
                (#"{"encoding": "o200k_base"}"#, ["text"]),
                (#"{"encoding": "o200k_base", "text": "a", "messages": [{"role": "user", "content": "a"}]}"#, ["messages"]),
                (#"{"encoding": "o200k_base", "text": 7}"#, ["text"]),
                (#"{"encoding": "o200k_base", "messages": []}"#, ["messages"]),
                (#"{"encoding": "o200k_base", "messages": [{"role": "", "content": "a"}, 3, {"content": 1}]}"#,
                 ["messages[0].role", "messages[1]", "messages[2].role", "messages[2].content"]),
            ]
            for (body, fields) in cases {
                try expectProblem(try await client.call(.post, "/db/tokens/count", as: user, json: body), .unprocessableContent, fields: fields)
            }
            try expectProblem(try await client.call(.post, "/db/tokens/count", as: user, json: "[1]"), .badRequest)
        }
    }

    @Test("texts and prompts over 64 KiB (counted off the cooperative pool) get the tokenizer's counts")
    func largeInputs() async throws {
        var random = SeededRandom(seed: 64)
        let text = TextMaker.text(&random, pieces: 12_000...12_000)
        #expect(text.utf8.count > 64 * 1024)
        let o200k = try BPETokenizer.shared(.o200kBase)
        let halves = [String(text.prefix(text.count / 2)), String(text.suffix(text.count - text.count / 2))]
        try await withAPI { client in
            let counted = try await client.call(
                .post, "/db/tokens/count", as: uniqueUser(), json: #"{"encoding": "o200k_base", "text": \#(quoted(text))}"#)
            #expect(try json(counted)["tokens"] as? Int == o200k.count(text))
            let messages = halves.map { #"{"role": "user", "content": \#(quoted($0))}"# }.joined(separator: ",")
            let prompt = try await client.call(
                .post, "/db/tokens/count", as: uniqueUser(), json: #"{"encoding": "o200k_base", "messages": [\#(messages)]}"#)
            #expect(try json(prompt)["tokens"] as? Int == 3 + halves.reduce(0) { $0 + 3 + 1 + o200k.count($1) })
        }
    }
}
