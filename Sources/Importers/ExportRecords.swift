import FoundationEssentials
import ResearchStore

/// The records of an export document, as the API renders them, turned back into rows.
enum ExportRecords {
    static func session(_ value: JSONValue, owner: String) throws -> ImportedSession {
        let fields = try ExportFields(value, what: "session")
        let id = try fields.uuid("id")
        guard try fields.string("user_id") == owner else { throw SourceProblem("user_id is not the export's user") }
        let title = try SourceValues.text(Array(try fields.string("title").utf8), field: "title")
        guard SourceValues.titleLength.contains(title.unicodeScalars.count) else { throw SourceProblem("title is not 1–200 characters") }
        let status = try fields.string("status")
        guard ["active", "archived"].contains(status) else { throw SourceProblem("status is not active or archived") }
        let messageValues = try fields.array("messages")
        var messages: [ImportedMessage] = []
        for (index, item) in messageValues.enumerated() {
            messages.append(try message(item, seq: index + 1))
        }
        var session = ImportedSession(
            id: id, sourceID: id.uuidString.lowercased(), userID: owner, title: title, metadata: try fields.object("metadata"),
            createdAt: try fields.date("created_at"), updatedAt: try fields.date("updated_at"),
            lastMessageAt: try fields.optionalDate("last_message_at"), messages: messages)
        session.status = status
        for item in try fields.array("research") {
            session.rows += try research(item, sessionID: id, owner: owner)
        }
        return session
    }

    /// A message; its seq must be the next one (an export lists them gapless, in order).
    static func message(_ value: JSONValue, seq: Int) throws -> ImportedMessage {
        let fields = try ExportFields(value, what: "message")
        let id = try fields.uuid("id")
        guard try fields.integer("seq") == seq else { throw SourceProblem("message \(id.uuidString.lowercased()): seq is not \(seq)") }
        let content = try SourceValues.content(Array(try fields.string("content").utf8))
        var counts = MessageCounts(
            tokenCount: try fields.integer("token_count"), estimated: try fields.bool("token_count_estimated"), o200k: nil, cl100k: nil)
        if case .object? = value["tokens"] {
            let tokens = try ExportFields(value["tokens"]!, what: "tokens")
            counts.o200k = try tokens.integer("o200k_base")
            counts.cl100k = try tokens.integer("cl100k_base")
        }
        return ImportedMessage(
            id: id, sourceID: id.uuidString.lowercased(), role: try SourceValues.role(try fields.string("role")), content: content,
            model: try fields.optionalString("model"), metadata: try fields.object("metadata"), createdAt: try fields.date("created_at"),
            counts: counts)
    }

    /// A research request and its status history.
    static func research(_ value: JSONValue, sessionID: UUID, owner: String) throws -> [ImportedRow] {
        let fields = try ExportFields(value, what: "research request")
        let id = try fields.uuid("id")
        let sources = try fields.array("sources").map { item in
            guard case .string(let text) = item else { throw SourceProblem("sources holds a non-string") }
            return text
        }
        let key = id.uuidString.lowercased()
        var rows = [
            ImportedRow(
                table: .researchRequests, sourceID: key, key: key,
                values: [
                    key, CopyText.uuid(sessionID), owner, try fields.string("question"), try fields.string("workflow_type"),
                    try fields.object("parameters").serialized, try fields.string("status"), fields.optionalJSON("result"),
                    try fields.optionalString("error"), CopyText.textArray(sources), CopyText.date(try fields.date("created_at")),
                    CopyText.date(try fields.optionalDate("started_at")), CopyText.date(try fields.optionalDate("finished_at")),
                    String(try fields.integer("attempt")), try fields.optionalString("worker_id"),
                    CopyText.date(try fields.optionalDate("lease_expires_at")),
                ])
        ]
        for change in try fields.array("history") {
            let step = try ExportFields(change, what: "history entry")
            rows.append(
                ImportedRow(
                    table: .researchStatusHistory, sourceID: key, key: "",
                    values: [key, try step.string("status"), CopyText.date(try step.date("at")), try step.optionalString("reason")]))
        }
        return rows
    }

    /// A feedback, LLM usage or analytics event row, with its own id.
    static func row(_ value: JSONValue, table: ImportTable, owner: String) throws -> ImportedRow {
        let fields = try ExportFields(value, what: table.rawValue)
        guard try fields.string("user_id") == owner else { throw SourceProblem("user_id is not the export's user") }
        switch table {
        case .feedback:
            let id = try fields.uuid("id").uuidString.lowercased()
            return ImportedRow(
                table: table, sourceID: id, key: id,
                values: [
                    id, owner, try fields.string("target_type"), CopyText.uuid(try fields.uuid("target_id")),
                    String(try fields.integer("rating")), try fields.optionalString("comment"),
                    CopyText.date(try fields.date("created_at")), CopyText.date(try fields.date("updated_at")),
                ])
        case .llmUsage:
            let id = try fields.uuid("id").uuidString.lowercased()
            return ImportedRow(
                table: table, sourceID: id, key: id,
                values: [
                    id, owner, try fields.string("provider"), try fields.string("model"), String(try fields.integer("prompt_tokens")),
                    String(try fields.integer("completion_tokens")), try fields.optionalNumber("duration_ms") ?? "0",
                    try fields.optionalNumber("cost_usd"), CopyText.uuid(try fields.optionalUUID("session_id")),
                    CopyText.uuid(try fields.optionalUUID("research_id")), try fields.optionalString("request_id"),
                    CopyText.date(try fields.date("created_at")),
                ])
        default:
            let id = String(try fields.integer("id"))
            return ImportedRow(
                table: table, sourceID: id, key: id,
                values: [
                    id, owner, CopyText.uuid(try fields.optionalUUID("session_id")), try fields.string("event_type"),
                    try fields.object("properties").serialized, try fields.optionalNumber("duration_ms"),
                    CopyText.date(try fields.date("occurred_at")), CopyText.date(try fields.date("received_at")),
                ])
        }
    }
}
