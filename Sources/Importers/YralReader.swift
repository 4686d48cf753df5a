import FoundationEssentials
import ResearchStore
import SQLite

/// `yral-sqlite`: the Yral chat's SQLite database (seed document 002). A session per
/// `conversations` row, titled with its persona's display name, `metadata.influencer` = the
/// persona's id, name, display_name and category; its `messages` in `created_at` order (then id),
/// with `message_type`, `media_urls`, `audio_url` and `audio_duration_seconds` in message metadata.
/// The source's `token_count` is not used: messages are counted as the server counts them.
public final class YralReader: ImportReader {
    static let format = "yral-sqlite"
    private let database: SQLiteDatabase
    private let ownerWhenMissing: String?
    private var influencers: [String: JSONValue] = [:]
    private var influencerTitles: [String: String] = [:]
    /// Conversations not yet handed over, by source id; nil marks a bad one (its messages are skipped).
    private var conversations: [String: Conversation?] = [:]
    private var mappedUsers: Set<String> = []
    private var messages: SQLiteStatement?
    private var peeked: SourceMessage?
    private var loaded = false
    /// The conversations left when the messages are done, in reverse id order.
    private var leftover: [String]?

    private struct Conversation {
        var userID: String
        var influencerID: String
        var createdAt: Date
        var updatedAt: Date
    }

    private struct SourceMessage {
        var id: String
        var conversationID: String
        var message: Result<ImportedMessage, BadRow>
    }

    /// `ownerWhenMissing` (`--user-id`) owns conversations whose `user_id` is empty.
    public init(path: String, ownerWhenMissing: String?) throws {
        database = try SQLiteDatabase(readOnly: path)
        self.ownerWhenMissing = ownerWhenMissing
        for table in ["conversations", "messages"] where try !database.hasTable(table) {
            throw ImportFailure("\(path) has no \(table) table: not a Yral database")
        }
    }

    public func totals() throws -> [ImportTable: Int] {
        func count(_ table: String) throws -> Int {
            let statement = try database.prepare("SELECT count(*) FROM \(table)")
            _ = try statement.step()
            return Int(statement.integer(0) ?? 0)
        }
        return [.sessions: try count("conversations"), .messages: try count("messages")]
    }

    public func next(report: inout ImportReport) throws -> ImportItem? {
        if !loaded {
            try loadInfluencers(report: &report)
            try loadConversations(report: &report)
            messages = try database.prepare(
                """
                SELECT id, conversation_id, role, content, message_type, media_urls, audio_url, audio_duration_seconds, created_at
                FROM messages ORDER BY conversation_id
                """)
            loaded = true
        }
        while let first = try nextMessage(report: &report) {
            var group = [first]
            while let message = try nextMessage(report: &report) {
                guard message.conversationID == first.conversationID else {
                    peeked = message
                    break
                }
                group.append(message)
            }
            if let session = session(first.conversationID, group, report: &report) { return .session(session) }
        }
        // Conversations without messages are sessions too.
        if leftover == nil { leftover = conversations.keys.sorted(by: >) }
        while let id = leftover?.popLast() {
            if let conversation = conversations.removeValue(forKey: id) ?? nil {
                return .session(makeSession(id, conversation, messages: []))
            }
        }
        return nil
    }

    private func nextMessage(report: inout ImportReport) throws -> SourceMessage? {
        if let peeked {
            self.peeked = nil
            return peeked
        }
        guard let statement = messages else { return nil }
        guard try statement.step() else {
            messages = nil  // stepping a finished statement would start it again
            return nil
        }
        report.read(.messages)
        let id = statement.text(0) ?? ""
        let conversationID = statement.text(1) ?? ""
        do {
            var metadata: [(key: String, value: JSONValue)] = []
            let messageType = try statement.bytes(4).map { try SourceValues.text($0, field: "message_type") }
            metadata.append(("message_type", messageType.map(JSONValue.string) ?? .null))
            if let urls = try statement.bytes(5).map({ try SourceValues.text($0, field: "media_urls") }) {
                // A JSON array as the Yral app writes it; anything else is kept as the text it is.
                let parsed = try? JSONParser.parse(Array(urls.utf8))
                metadata.append(("media_urls", parsed ?? .string(urls)))
            }
            if let audio = try statement.bytes(6).map({ try SourceValues.text($0, field: "audio_url") }) {
                metadata.append(("audio_url", .string(audio)))
            }
            if !statement.isNull(7) {
                guard let seconds = statement.double(7), seconds.isFinite else {
                    throw SourceProblem("audio_duration_seconds is not a number")
                }
                metadata.append(("audio_duration_seconds", .number(statement.integer(7).map(String.init) ?? "\(seconds)")))
            }
            let role = try SourceValues.role(try SourceValues.text(statement.bytes(2) ?? [], field: "role"))
            let content = try SourceValues.content(statement.bytes(3))
            let createdAt = try SourceValues.timestamp(
                try statement.bytes(8).map { try SourceValues.text($0, field: "created_at") }, field: "created_at")
            let message = ImportedMessage(
                id: DeterministicID.make(format: Self.format, table: "messages", sourceID: id), sourceID: id, role: role,
                content: content, model: nil, metadata: .object(metadata), createdAt: createdAt, counts: nil)
            return SourceMessage(id: id, conversationID: conversationID, message: .success(message))
        } catch {
            let bad = BadRow(table: "messages", sourceID: id, reason: SourceProblem.reason(error))
            return SourceMessage(id: id, conversationID: conversationID, message: .failure(bad))
        }
    }

    /// The session of one conversation's messages, or nil when the conversation is missing or bad
    /// (its messages are then skipped and counted).
    private func session(_ id: String, _ group: [SourceMessage], report: inout ImportReport) -> ImportedSession? {
        var good: [ImportedMessage] = []
        for message in group {
            switch message.message {
            case .success(let imported): good.append(imported)
            case .failure(let bad): report.skip(.messages, reason: bad.reason, badRow: bad)
            }
        }
        guard let entry = conversations[id] else {
            for message in good {
                report.skip(
                    .messages, reason: "orphan: conversation not found",
                    badRow: BadRow(table: "messages", sourceID: message.sourceID, reason: "orphan: conversation not found"))
            }
            return nil
        }
        conversations[id] = nil
        guard let conversation = entry else {
            report.skip(.messages, reason: "its conversation was skipped", count: good.count)
            return nil
        }
        good.sort { ($0.createdAt, $0.sourceID) < ($1.createdAt, $1.sourceID) }
        return makeSession(id, conversation, messages: good)
    }

    private func makeSession(_ id: String, _ conversation: Conversation, messages: [ImportedMessage]) -> ImportedSession {
        ImportedSession(
            id: DeterministicID.make(format: Self.format, table: "conversations", sourceID: id), sourceID: id,
            userID: conversation.userID,
            title: influencerTitles[conversation.influencerID] ?? "Yral conversation",
            metadata: .object([("influencer", influencers[conversation.influencerID] ?? .object([("id", .string(conversation.influencerID))]))]),
            createdAt: conversation.createdAt, updatedAt: conversation.updatedAt, lastMessageAt: nil, messages: messages)
    }

    private func loadInfluencers(report: inout ImportReport) throws {
        guard try database.hasTable("ai_influencers") else { return }
        let statement = try database.prepare("SELECT id, name, display_name, category FROM ai_influencers")
        while try statement.step() {
            let id = statement.text(0) ?? ""
            do {
                var fields: [(key: String, value: JSONValue)] = []
                for (index, name) in ["name", "display_name", "category"].enumerated() {
                    let value = try statement.bytes(Int32(index + 1)).map { try SourceValues.text($0, field: name) }
                    fields.append((name, value.map(JSONValue.string) ?? .null))
                }
                influencers[id] = .object([("id", .string(id))] + fields)
                if case .string(let title) = fields[1].value { influencerTitles[id] = SourceValues.title(title, fallback: "Yral conversation") }
            } catch {
                report.bad(BadRow(table: "ai_influencers", sourceID: id, reason: SourceProblem.reason(error) + "; the persona is left out"))
            }
        }
    }

    private func loadConversations(report: inout ImportReport) throws {
        let statement = try database.prepare("SELECT id, user_id, influencer_id, created_at, updated_at FROM conversations")
        while try statement.step() {
            report.read(.sessions)
            let id = statement.text(0) ?? ""
            do {
                let userID = try owner(statement.bytes(1), conversation: id, report: &report)
                let influencerID = try SourceValues.text(statement.bytes(2) ?? [], field: "influencer_id")
                let createdAt = try SourceValues.timestamp(
                    try statement.bytes(3).map { try SourceValues.text($0, field: "created_at") }, field: "created_at")
                let updatedAt = try statement.bytes(4).map { try SourceValues.text($0, field: "updated_at") }
                    .map { try SourceValues.timestamp($0, field: "updated_at") } ?? createdAt
                conversations[id] = Conversation(
                    userID: userID, influencerID: influencerID, createdAt: createdAt, updatedAt: max(updatedAt, createdAt))
            } catch {
                conversations[id] = .some(nil)
                let reason = SourceProblem.reason(error)
                report.skip(.sessions, reason: reason, badRow: BadRow(table: "conversations", sourceID: id, reason: reason))
            }
        }
    }

    /// The conversation's `user_id` in the contract's form: as it is, mapped (and noted), or
    /// `--user-id` when it is empty.
    private func owner(_ bytes: [UInt8]?, conversation: String, report: inout ImportReport) throws -> String {
        guard let bytes, !bytes.isEmpty else {
            guard let ownerWhenMissing else { throw SourceProblem("user_id is missing (name the owner with --user-id)") }
            return ownerWhenMissing
        }
        let (id, mapped) = UserIDMapping.map(bytes)
        if mapped, mappedUsers.insert(id).inserted {
            report.note("conversations \(ImportSummary.quoted(conversation)): user_id is outside the allowed form; mapped to \(id)")
        }
        return id
    }
}

/// The import cannot start or go on (an unreadable source, a database error); nothing is skipped
/// silently.
public struct ImportFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
