import FoundationEssentials
import ResearchStore

/// `openai-conversations`: a ChatGPT data export's `conversations.json`. A session per
/// conversation, owned by `--user-id` (the export names no user), titled with its title; its
/// messages are the current branch of the `mapping` tree: from `current_node` up the `parent`
/// links to the root, reversed. Nodes without a message, and messages ChatGPT hides
/// (`is_visually_hidden_from_conversation`), are left out. `model_slug` becomes the message's
/// model; `content_type`, `status`, `recipient`, `end_turn`, the author's name and the content's
/// non-text parts go into message metadata; `id`, `default_model_slug`, `gizmo_id` and
/// `is_archived` into session metadata.
public final class OpenAIConversationsReader: ImportReader {
    static let format = "openai-conversations"
    private let conversations: [JSONValue]
    private let owner: String
    private var position = 0

    public init(path: String, owner: String?) throws {
        guard let owner else { throw ImportFailure("openai-conversations needs --user-id: a ChatGPT export names no user") }
        self.owner = owner
        let value: JSONValue
        do {
            value = try JSONParser.parse(try SourceFile.read(path))
        } catch let failure as JSONParser.Failure {
            throw ImportFailure("\(path) is not JSON we can store: \(failure.message) \(failure.path)")
        }
        guard case .array(let conversations) = value else { throw ImportFailure("\(path) is not a conversations.json (not an array)") }
        self.conversations = conversations
    }

    public func totals() throws -> [ImportTable: Int] { [.sessions: conversations.count] }

    public func next(report: inout ImportReport) throws -> ImportItem? {
        while position < conversations.count {
            let value = conversations[position]
            position += 1
            report.read(.sessions)
            let sourceID = Self.string(value["id"]) ?? Self.string(value["conversation_id"]) ?? "#\(position)"
            do {
                return .session(try session(value, sourceID: sourceID, report: &report))
            } catch {
                let reason = SourceProblem.reason(error)
                report.skip(.sessions, reason: reason, badRow: BadRow(table: "conversations", sourceID: sourceID, reason: reason))
            }
        }
        return nil
    }

    private func session(_ value: JSONValue, sourceID: String, report: inout ImportReport) throws -> ImportedSession {
        let createdAt = try Self.time(value["create_time"], field: "create_time")
        let updatedAt = try value["update_time"].flatMap { $0 == .null ? nil : $0 }.map { try Self.time($0, field: "update_time") } ?? createdAt
        var messages: [ImportedMessage] = []
        var last = createdAt
        for node in try branch(value) {
            report.read(.messages)
            let nodeID = Self.string(node["id"]) ?? "?"
            do {
                guard let message = try self.message(node["message"]!, conversation: sourceID, nodeID: nodeID, after: last) else {
                    report.skip(.messages, reason: "hidden in ChatGPT")
                    continue
                }
                last = message.createdAt
                messages.append(message)
            } catch {
                let reason = SourceProblem.reason(error)
                report.skip(.messages, reason: reason, badRow: BadRow(table: "messages", sourceID: nodeID, reason: reason))
            }
        }
        var metadata: [(key: String, value: JSONValue)] = [("id", .string(sourceID))]
        for key in ["default_model_slug", "gizmo_id", "is_archived"] {
            if let member = value[key], member != .null { metadata.append((key, member)) }
        }
        return ImportedSession(
            id: DeterministicID.make(format: Self.format, table: "conversations", sourceID: sourceID), sourceID: sourceID, userID: owner,
            title: SourceValues.title(Self.string(value["title"]), fallback: "ChatGPT conversation"), metadata: .object(metadata),
            createdAt: createdAt, updatedAt: max(updatedAt, createdAt), lastMessageAt: nil, messages: messages)
    }

    /// The nodes of the current branch that carry a message, root first.
    private func branch(_ value: JSONValue) throws -> [JSONValue] {
        guard case .object(let members)? = value["mapping"] else { throw SourceProblem("mapping is missing") }
        let mapping = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        var nodes: [JSONValue] = []
        var next = Self.string(value["current_node"])
        if next == nil { throw SourceProblem("current_node is missing") }
        while let id = next {
            guard let node = mapping[id] else { throw SourceProblem("the branch names a node the mapping lacks") }
            guard nodes.count <= mapping.count else { throw SourceProblem("the branch's parent links form a cycle") }
            if let message = node["message"], message != .null { nodes.append(node) }
            next = Self.string(node["parent"])
        }
        return nodes.reversed()
    }

    /// A message, or nil for one ChatGPT hides. Without a time of its own it takes the one before.
    private func message(_ value: JSONValue, conversation: String, nodeID: String, after previous: Date) throws -> ImportedMessage? {
        _ = try ExportFields(value, what: "message")
        let sourceMetadata = value["metadata"]
        if case .bool(true)? = sourceMetadata?["is_visually_hidden_from_conversation"] { return nil }
        let author = try ExportFields(value["author"] ?? .null, what: "author")
        let role = try SourceValues.role(try author.string("role"))
        let createdAt = try value["create_time"].flatMap { $0 == .null ? nil : $0 }.map { try Self.time($0, field: "create_time") } ?? previous
        var metadata: [(key: String, value: JSONValue)] = []
        let (content, contentType, otherParts) = try Self.content(value["content"])
        metadata.append(("content_type", .string(contentType)))
        if !otherParts.isEmpty { metadata.append(("parts", .array(otherParts))) }
        if let name = try author.optionalString("name") { metadata.append(("author_name", .string(name))) }
        for key in ["status", "recipient", "end_turn"] {
            if let member = value[key], member != .null { metadata.append((key, member)) }
        }
        let model = Self.string(sourceMetadata?["model_slug"]).flatMap { (1...128).contains($0.count) ? $0 : nil }
        return ImportedMessage(
            id: DeterministicID.make(format: Self.format, table: "messages", sourceID: "\(conversation):\(nodeID)"), sourceID: nodeID,
            role: role, content: try SourceValues.content(Array(content.utf8)), model: model, metadata: .object(metadata),
            createdAt: createdAt, counts: nil)
    }

    /// The content's text (string parts joined by newlines, or its `text`), its type, and the
    /// parts that are not text (image pointers, say), kept as they are.
    private static func content(_ value: JSONValue?) throws -> (String, String, [JSONValue]) {
        guard let value, case .object = value else { throw SourceProblem("content is missing") }
        let type = string(value["content_type"]) ?? "text"
        if case .array(let parts)? = value["parts"] {
            var texts: [String] = []
            var others: [JSONValue] = []
            for part in parts {
                if case .string(let text) = part { texts.append(text) } else { others.append(part) }
            }
            return (texts.joined(separator: "\n"), type, others)
        }
        if let text = string(value["text"]) { return (text, type, []) }
        return ("", type, [])
    }

    /// ChatGPT's times: seconds since 1970 as a number.
    private static func time(_ value: JSONValue?, field: String) throws -> Date {
        guard case .number(let text)? = value, let seconds = Double(text), seconds.isFinite,
            let date = Timestamp.date(millisecondsSince1970: Int64((seconds * 1000).rounded()))
        else { throw SourceProblem("\(field) is not a time") }
        return date
    }

    private static func string(_ value: JSONValue?) -> String? {
        if case .string(let text)? = value { return text }
        return nil
    }
}
