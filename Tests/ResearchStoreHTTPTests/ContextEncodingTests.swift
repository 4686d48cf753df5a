import Foundation
import HummingbirdTesting
import Postgres
import TestSupport
import Testing

/// `GET /db/context/{id}?encoding=`: a budget counted exactly, in the chat format, whose
/// `token_count` is what `POST /db/tokens/count` says of the returned messages.
@Suite("Context in an encoding")
struct ContextEncodingTests {
    static let encodings = ["o200k_base", "cl100k_base"]

    /// What the counter says of `messages` (role and content) in the chat format.
    func counted(_ client: some TestClientProtocol, _ messages: [[String: Any]], encoding: String) async throws -> Int {
        let items = messages.map { #"{"role": "\#($0["role"] as! String)", "content": \#(quoted($0["content"] as! String))}"# }
        let response = try await client.call(
            .post, "/db/tokens/count", as: uniqueUser(),
            json: #"{"encoding": "\#(encoding)", "messages": [\#(items.joined(separator: ","))]}"#)
        #expect(response.status == .ok)
        return try #require(try json(response)["tokens"] as? Int)
    }

    /// Every message of the session, by seq.
    func allMessages(_ client: some TestClientProtocol, user: String, session: String) async throws -> [[String: Any]] {
        let page = try json(try await client.call(.get, "/db/sessions/\(session)/messages?limit=200", as: user))
        return try #require(page["items"] as? [[String: Any]])
    }

    /// Asks for the context and checks what must hold of any answer: the count is the counter's,
    /// within the budget; the run is the longest that fits (one more older message would not);
    /// `first_seq` names its oldest message. Returns the answer's messages and count.
    @discardableResult
    func checkedContext(
        _ client: some TestClientProtocol, user: String, session: String, all: [[String: Any]], encoding: String,
        maxTokens: Int, maxMessages: Int = 1000
    ) async throws -> (seqs: [Int], tokens: Int) {
        let query = "?encoding=\(encoding)&max_tokens=\(maxTokens)&max_messages=\(maxMessages)"
        let response = try await client.call(.get, "/db/context/\(session)\(query)", as: user)
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        let window = try json(response)
        let messages = try #require(window["messages"] as? [[String: Any]])
        let tokens = try #require(window["token_count"] as? Int)
        let seqs = messages.map { $0["seq"] as! Int }
        let label = "\(encoding) max_tokens=\(maxTokens) max_messages=\(maxMessages): seqs \(seqs), token_count \(tokens)"
        #expect(window["encoding"] as? String == encoding)
        #expect(tokens <= maxTokens, "\(label)")
        #expect(messages.count <= maxMessages, "\(label)")
        #expect(tokens == (messages.isEmpty ? 0 : try await counted(client, messages, encoding: encoding)), "\(label)")

        // The run: the answer without a pinned system message placed before it.
        let firstSeq = window["first_seq"] as? Int
        let pinnedFirst = seqs.count >= 1 && firstSeq != seqs[0]
        let run = pinnedFirst ? Array(messages.dropFirst()) : messages
        let runSeqs = run.map { $0["seq"] as! Int }
        #expect(firstSeq == runSeqs.first, "\(label): first_seq \(String(describing: firstSeq))")
        #expect(run.isEmpty || runSeqs == Array((all.count - run.count + 1)...all.count), "\(label): not the most recent run")
        if pinnedFirst {
            #expect(messages[0]["role"] as? String == "system", "\(label): placed first but not a system message")
            let latestSystem = all.last { $0["role"] as? String == "system" }
            #expect(messages[0]["seq"] as? Int == latestSystem?["seq"] as? Int, "\(label): not the latest system message")
        }
        // Longest: the next older message would not have fitted (unless it is the pinned one).
        let nextOlderSeq = (runSeqs.first ?? all.count + 1) - 1
        if nextOlderSeq >= 1, !(pinnedFirst && seqs[0] == nextOlderSeq) {
            let extended = (pinnedFirst ? [messages[0]] : []) + [all[nextOlderSeq - 1]] + run
            let cost = try await counted(client, extended, encoding: encoding)
            #expect(cost > maxTokens || extended.count > maxMessages, "\(label): seq \(nextOlderSeq) would have fitted (\(cost))")
        }
        return (seqs, tokens)
    }

    @Test("token_count equals the counter's on many sessions and budgets, pinned system messages and exact boundaries included")
    func equalsTheCounter() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            var random = SeededRandom(seed: 2026)
            for sessionIndex in 0..<6 {
                let session = try await createSession(client, user: user)
                // Sessions 0–3 open with a system message, 2 and 3 get a second one later; some
                // messages carry a client's token_count, which an encoding's budget ignores.
                var items: [String] = []
                let length = Int.random(in: 8...24, using: &random)
                for index in 0..<length {
                    let role =
                        (index == 0 && sessionIndex < 4) || (index == length / 2 && (sessionIndex == 2 || sessionIndex == 3))
                        ? "system" : ["user", "assistant", "tool"].randomElement(using: &random)!
                    let content = index % 7 == 5 ? "" : TextMaker.text(&random, pieces: 1...40)
                    let declared = index % 3 == 0 ? #", "token_count": \#(Int.random(in: 0...5, using: &random))"# : ""
                    items.append(#"{"role": "\#(role)", "content": \#(quoted(content))\#(declared)}"#)
                }
                let stored = try await client.call(
                    .post, "/db/messages/batch", as: user,
                    json: #"{"session_id": "\#(session)", "messages": [\#(items.joined(separator: ","))]}"#)
                #expect(stored.status == .created)
                let all = try await allMessages(client, user: user, session: session)
                for encoding in Self.encodings {
                    let whole = try await counted(client, all, encoding: encoding)
                    var budgets = [1, 3, 4, 5, 9, 20, 60, 150, 400, whole - 1, whole, whole + 1, 10_000_000]
                    budgets.append(contentsOf: (0..<4).map { _ in Int.random(in: 1...max(1, whole), using: &random) })
                    for budget in budgets where budget >= 1 {
                        let answer = try await checkedContext(
                            client, user: user, session: session, all: all, encoding: encoding, maxTokens: budget)
                        guard answer.tokens > 0 else { continue }
                        // Exact boundary: a budget of exactly the answer's count keeps the same messages;
                        // one token less keeps fewer.
                        let exact = try await checkedContext(
                            client, user: user, session: session, all: all, encoding: encoding, maxTokens: answer.tokens)
                        #expect(exact.seqs == answer.seqs && exact.tokens == answer.tokens, "\(encoding) boundary \(answer.tokens)")
                        if answer.tokens > 1 {
                            let under = try await checkedContext(
                                client, user: user, session: session, all: all, encoding: encoding, maxTokens: answer.tokens - 1)
                            #expect(under.tokens < answer.tokens)
                        }
                    }
                    for maxMessages in [1, 2, 5] {
                        try await checkedContext(
                            client, user: user, session: session, all: all, encoding: encoding, maxTokens: 10_000_000,
                            maxMessages: maxMessages)
                    }
                }
            }
        }
    }

    @Test("messages stored before exact counts (tokens null) are counted on the fly")
    func uncountedMessages() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            var random = SeededRandom(seed: 7)
            let session = try await createSession(client, user: user)
            let items = (0..<12).map { index in
                #"{"role": "\#(index == 0 ? "system" : "user")", "content": \#(quoted(TextMaker.text(&random, pieces: 5...30)))}"#
            }
            let stored = try await client.call(
                .post, "/db/messages/batch", as: user, json: #"{"session_id": "\#(session)", "messages": [\#(items.joined(separator: ","))]}"#)
            #expect(stored.status == .created)
            // As a message of schema version 2 would be: every other one without counts.
            let sessionID = try #require(UUID(uuidString: session))
            _ = try await TestDatabase.withConnection { connection in
                try await connection.query(
                    "UPDATE messages SET tokens_o200k = NULL, tokens_cl100k = NULL WHERE session_id = \(sessionID) AND seq % 2 = 1")
            }
            let all = try await allMessages(client, user: user, session: session)
            #expect(all.filter { $0["tokens"] is NSNull }.count == 6)
            for encoding in Self.encodings {
                let whole = try await counted(client, all, encoding: encoding)
                for budget in [whole, whole / 2, whole / 3, 30] {
                    try await checkedContext(client, user: user, session: session, all: all, encoding: encoding, maxTokens: budget)
                }
            }
        }
    }

    @Test("without encoding the v1 budget stands (encoding null, first_seq set); an unknown encoding is 422")
    func v1AndBadEncoding() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let items = (1...4).map { #"{"role": "user", "content": "m\#($0)", "token_count": 10}"# }.joined(separator: ",")
            #expect(
                try await client.call(
                    .post, "/db/messages/batch", as: user, json: #"{"session_id": "\#(session)", "messages": [\#(items)]}"#
                ).status == .created)
            let window = try json(try await client.call(.get, "/db/context/\(session)?max_tokens=25", as: user))
            #expect(window["encoding"] is NSNull)
            #expect(window["first_seq"] as? Int == 3)
            #expect(window["token_count"] as? Int == 20)
            let none = try json(try await client.call(.get, "/db/context/\(session)?max_tokens=5", as: user))
            #expect(none["first_seq"] is NSNull)
            #expect((none["messages"] as? [Any])?.isEmpty == true)
            for bad in ["p50k_base", "", "O200K_BASE", "estimate"] {
                try expectProblem(
                    try await client.call(.get, "/db/context/\(session)?encoding=\(bad)", as: user), .unprocessableContent,
                    fields: ["encoding"])
            }
        }
    }
}
