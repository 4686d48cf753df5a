import Foundation
import Postgres
import TestSupport
import Testing

/// `research-store import openai-conversations`: a ChatGPT export's conversations.json, written here.
@Suite("import openai-conversations")
struct ImportOpenAITests {
    /// A node of the mapping tree.
    static func node(_ id: String, parent: String?, children: [String], role: String?, parts: String = "[]", time: String = "null",
                     extra: String = "") -> String {
        let message = role.map { role in
            #"{"id": "\#(id)", "author": {"role": "\#(role)", "name": null, "metadata": {}}, "create_time": \#(time), "#
                + #""content": {"content_type": "text", "parts": \#(parts)}, "status": "finished_successfully", "end_turn": true, "#
                + #""metadata": {\#(extra)}, "recipient": "all"}"#
        } ?? "null"
        let childList = "[" + children.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        return #""\#(id)": {"id": "\#(id)", "message": \#(message), "parent": \#(parent.map { "\"\($0)\"" } ?? "null"), "children": \#(childList)}"#
    }

    static func source(tag: String) -> String {
        let good = [
            node("\(tag)-root", parent: nil, children: ["\(tag)-sys"], role: nil),
            node("\(tag)-sys", parent: "\(tag)-root", children: ["\(tag)-u1"], role: "system", parts: #"[""]"#, time: "1700000000",
                 extra: #""is_visually_hidden_from_conversation": true"#),
            node("\(tag)-u1", parent: "\(tag)-sys", children: ["\(tag)-a1", "\(tag)-a2"], role: "user", parts: #"["first question"]"#, time: "1700000001.5"),
            node("\(tag)-a1", parent: "\(tag)-u1", children: [], role: "assistant", parts: #"["abandoned answer"]"#, time: "1700000002"),
            node("\(tag)-a2", parent: "\(tag)-u1", children: ["\(tag)-u2"], role: "assistant", parts: #"["kept answer"]"#, time: "1700000003",
                 extra: #""model_slug": "gpt-4o""#),
            node("\(tag)-u2", parent: "\(tag)-a2", children: ["\(tag)-a3"], role: "user",
                 parts: #"[{"content_type": "image_asset_pointer", "asset_pointer": "file-service://x"}, "what is this?"]"#, time: "1700000010"),
            node("\(tag)-a3", parent: "\(tag)-u2", children: [], role: "assistant", parts: #"["a picture", "of a cat"]"#),
        ]
        let hostile = [
            node("\(tag)-h1", parent: nil, children: ["\(tag)-h2"], role: "user", parts: #"["fine"]"#, time: "1700000100"),
            node("\(tag)-h2", parent: "\(tag)-h1", children: [], role: "critic", parts: #"["SECRET-\#(tag)"]"#, time: "1700000101"),
        ]
        return """
            [{"title": "Trip planning", "create_time": 1700000000.25, "update_time": 1700000020, "id": "\(tag)-conv-a",
              "mapping": {\(good.joined(separator: ", "))}, "current_node": "\(tag)-a3", "default_model_slug": "gpt-4o", "is_archived": false},
             {"title": "Broken", "create_time": 1700000050, "update_time": 1700000050, "id": "\(tag)-conv-b",
              "mapping": {}, "current_node": "\(tag)-missing"},
             {"title": "", "create_time": 1700000100, "update_time": null, "id": "\(tag)-conv-c",
              "mapping": {\(hostile.joined(separator: ", "))}, "current_node": "\(tag)-h2"}]
            """
    }

    @Test("the current branch in order, times, model and metadata; broken conversations and bad roles named and skipped; a re-run adds nothing")
    func currentBranch() async throws {
        let tag = String(UUID().uuidString.prefix(8).lowercased())
        let user = uniqueUser("chatgpt")
        let path = try ImportFixture.directory() + "/conversations.json"
        try Self.source(tag: tag).write(toFile: path, atomically: true, encoding: .utf8)

        let ownerless = try await ImportFixture.runImport(["openai-conversations", path])
        #expect(ownerless.status != 0 && ownerless.text.contains("--user-id"), "\(ownerless.text)")

        let output = try await ImportFixture.runImport(["openai-conversations", path, "--user-id", user])
        #expect(output.status == 0, "\(output.text)")
        #expect(!output.text.contains("SECRET-"), "\(output.text)")
        #expect(try ImportFixture.counts(output, "sessions") == [3, 2, 0, 1], "\(output.text)")
        // Read: sys, u1, a2, u2, a3 of the first; h1, h2 of the third. Skipped: the hidden system message, the critic.
        #expect(try ImportFixture.counts(output, "messages") == [7, 5, 0, 2], "\(output.text)")
        #expect(output.text.contains("\"\(tag)-conv-b\": the branch names a node the mapping lacks"), "\(output.text)")
        #expect(output.text.contains("\"\(tag)-h2\": role is not one of"), "\(output.text)")

        try await TestDatabase.withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT s.title, m.seq, m.role, m.content, m.model, m.created_at, m.metadata->>'content_type', m.metadata->'parts'
                FROM sessions s JOIN messages m ON m.session_id = s.id WHERE s.user_id = \(user) AND s.title = 'Trip planning' ORDER BY m.seq
                """)
            let decoded = try rows.map { try $0.decode((String, Int, String, String, String?, Date, String, String?).self) }
            #expect(decoded.map(\.1) == [1, 2, 3, 4])
            #expect(decoded.map(\.2) == ["user", "assistant", "user", "assistant"])
            #expect(decoded.map(\.3) == ["first question", "kept answer", "what is this?", "a picture\nof a cat"])
            #expect(decoded.map(\.4) == [nil, "gpt-4o", nil, nil])
            #expect(decoded[0].5 == Date(timeIntervalSince1970: 1_700_000_001.5))
            #expect(decoded[3].5 == Date(timeIntervalSince1970: 1_700_000_010))  // no time of its own: the one before
            #expect(decoded[0].6 == "text")
            #expect(decoded[2].7?.contains("image_asset_pointer") == true)
            let untitled = try await connection.query(
                "SELECT title, message_count FROM sessions WHERE user_id = \(user) AND title <> 'Trip planning'")
            #expect(try untitled.map { try $0.decode((String, Int).self) }.map { "\($0.0) \($0.1)" } == ["ChatGPT conversation 1"])
        }

        let again = try await ImportFixture.runImport(["openai-conversations", path, "--user-id", user])
        #expect(try ImportFixture.counts(again, "sessions") == [3, 0, 2, 1], "\(again.text)")
        #expect(try ImportFixture.counts(again, "messages") == [7, 0, 5, 2], "\(again.text)")
    }
}
