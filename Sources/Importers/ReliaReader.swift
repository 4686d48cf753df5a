import FoundationEssentials
import ResearchStore
import SQLite

/// `relia-sqlite`: Relia's SQLite database (seed document 000). A session per `playbooks` row
/// (titled "<module> playbook"; `playbook_id`, `module` and `status` in metadata) holding the
/// prompt as a `user` message and the YAML as an `assistant` message; `feedback` as ratings of
/// that session (a later rating of the same playbook by the same user replaces an earlier one,
/// as the API does); `telemetry` as analytics events (`event_data` as properties; ids are
/// negative bigints derived from the source id, so a re-run finds them); `llm_usage` as usage
/// rows. Rows left at `'anonymous'` belong to `--user-id` when given.
public final class ReliaReader: ImportReader {
    static let format = "relia-sqlite"
    private let database: SQLiteDatabase
    private let ownerWhenMissing: String?
    private var stage = 0
    private var statement: SQLiteStatement?
    /// Imported playbooks: their session and owner, for feedback.
    private var playbooks: [String: (session: UUID, owner: String)] = [:]
    private var pendingRows: [ImportedRow] = []
    private var mappedUsers: Set<String> = []

    public init(path: String, ownerWhenMissing: String?) throws {
        database = try SQLiteDatabase(readOnly: path)
        self.ownerWhenMissing = ownerWhenMissing
        guard try database.hasTable("playbooks") else { throw ImportFailure("\(path) has no playbooks table: not a Relia database") }
    }

    public func totals() throws -> [ImportTable: Int] {
        var totals: [ImportTable: Int] = [:]
        for (table, ours) in [("playbooks", ImportTable.sessions), ("feedback", .feedback), ("telemetry", .analyticsEvents), ("llm_usage", .llmUsage)]
        where try database.hasTable(table) {
            let count = try database.prepare("SELECT count(*) FROM \(table)")
            _ = try count.step()
            totals[ours] = Int(count.integer(0) ?? 0)
        }
        totals[.messages] = (totals[.sessions] ?? 0) * 2
        return totals
    }

    public func next(report: inout ImportReport) throws -> ImportItem? {
        while true {
            if let row = pendingRows.popLast() { return .row(row) }
            switch stage {
            case 0:
                if statement == nil {
                    statement = try database.prepare(
                        "SELECT playbook_id, module, prompt, yaml_content, created_at, user_id, status FROM playbooks ORDER BY created_at, playbook_id")
                }
                if let session = try nextPlaybook(report: &report) { return .session(session) }
            case 1: pendingRows = try feedbackRows(report: &report).reversed()
            case 2: pendingRows = try rows(of: "telemetry", report: &report, make: telemetry).reversed()
            case 3: pendingRows = try rows(of: "llm_usage", report: &report, make: usage).reversed()
            default: return nil
            }
            stage += 1
            statement = nil
        }
    }

    private func nextPlaybook(report: inout ImportReport) throws -> ImportedSession? {
        while let row = statement, try row.step() {
            report.read(.sessions)
            report.read(.messages, 2)
            let id = row.text(0) ?? ""
            do {
                let module = try SourceValues.text(row.bytes(1) ?? [], field: "module")
                let prompt = try SourceValues.content(row.bytes(2))
                let yaml = try SourceValues.content(row.bytes(3))
                let createdAt = try SourceValues.timestamp(try row.bytes(4).map { try SourceValues.text($0, field: "created_at") }, field: "created_at")
                let owner = try self.owner(row.bytes(5), table: "playbooks", sourceID: id, report: &report)
                let status = try row.bytes(6).map { try SourceValues.text($0, field: "status") }
                let sessionID = DeterministicID.make(format: Self.format, table: "playbooks", sourceID: id)
                playbooks[id] = (sessionID, owner)
                func message(_ part: String, _ role: String, _ content: String) -> ImportedMessage {
                    ImportedMessage(
                        id: DeterministicID.make(format: Self.format, table: "playbooks", sourceID: "\(id):\(part)"), sourceID: "\(id):\(part)",
                        role: role, content: content, model: nil, metadata: .object([]), createdAt: createdAt, counts: nil)
                }
                return ImportedSession(
                    id: sessionID, sourceID: id, userID: owner, title: SourceValues.title("\(module) playbook", fallback: "Relia playbook"),
                    metadata: .object([("playbook_id", .string(id)), ("module", .string(module)), ("status", status.map(JSONValue.string) ?? .null)]),
                    createdAt: createdAt, updatedAt: createdAt, lastMessageAt: nil,
                    messages: [message("prompt", "user", prompt), message("yaml", "assistant", yaml)])
            } catch {
                let reason = SourceProblem.reason(error)
                report.skip(.sessions, reason: reason, badRow: BadRow(table: "playbooks", sourceID: id, reason: reason))
                report.skip(.messages, reason: "its playbook was skipped", count: 2)
            }
        }
        return nil
    }

    /// Ratings, the latest per user and playbook.
    private func feedbackRows(report: inout ImportReport) throws -> [ImportedRow] {
        var latest: [String: ImportedRow] = [:]
        var order: [String] = []
        let rows = try rows(of: "feedback", report: &report) { row, id, report in
            let playbook = try SourceValues.text(row.bytes(1) ?? [], field: "playbook_id")
            guard let rating = row.integer(2), (1...5).contains(rating) else { throw SourceProblem("rating is not 1–5") }
            let comment = try row.bytes(3).map { try SourceValues.text($0, field: "comment") }
            guard (comment?.unicodeScalars.count ?? 0) <= 2000 else { throw SourceProblem("comment is over 2000 characters") }
            let at = try SourceValues.timestamp(try row.bytes(4).map { try SourceValues.text($0, field: "created_at") }, field: "created_at")
            let owner = try self.owner(row.bytes(5), table: "feedback", sourceID: id, report: &report)
            guard let target = playbooks[playbook] else { throw SourceProblem("orphan: playbook not found or skipped") }
            guard target.owner == owner else { throw SourceProblem("rated by another user than the playbook's owner") }
            let key = DeterministicID.make(format: Self.format, table: "feedback", sourceID: id).uuidString.lowercased()
            return ImportedRow(
                table: .feedback, sourceID: id, key: key,
                values: [key, owner, "session", CopyText.uuid(target.session), String(rating), comment, CopyText.date(at), CopyText.date(at)],
                owner: ImportedUser(id: owner, firstSeen: at, lastSeen: at))
        }
        for row in rows {
            let target = "\(row.values[1]!) \(row.values[3]!)"
            if latest.updateValue(row, forKey: target) != nil {
                report.skip(.feedback, reason: "replaced by a later rating of the same playbook by the same user")
            } else {
                order.append(target)
            }
        }
        return order.map { latest[$0]! }
    }

    private func telemetry(_ row: SQLiteStatement, id: String, report: inout ImportReport) throws -> ImportedRow {
        let type = try SourceValues.text(row.bytes(1) ?? [], field: "event_type")
        guard type.utf8.count <= 64, type.utf8.allSatisfy({ Self.eventTypeBytes.contains($0) }), !type.isEmpty else {
            throw SourceProblem("event_type is not 1–64 of a–z 0–9 _ . : -")
        }
        let data = try SourceValues.text(row.bytes(2) ?? [], field: "event_data")
        var properties: JSONValue = .object([("event_data", .string(data))])
        if let parsed = try? JSONParser.parse(Array(data.utf8)), case .object = parsed { properties = parsed }
        if let session = try row.bytes(5).map({ try SourceValues.text($0, field: "session_id") }), case .object(var members) = properties {
            members.append(("session_id", .string(session)))
            properties = .object(members)
        }
        let at = try SourceValues.timestamp(try row.bytes(3).map { try SourceValues.text($0, field: "created_at") }, field: "created_at")
        let owner = try self.owner(row.bytes(4), table: "telemetry", sourceID: id, report: &report)
        let key = String(DeterministicID.negativeInteger(format: Self.format, table: "telemetry", sourceID: id))
        return ImportedRow(
            table: .analyticsEvents, sourceID: id, key: key,
            values: [key, owner, nil, type, properties.serialized, nil, CopyText.date(at), CopyText.date(at)],
            owner: ImportedUser(id: owner, firstSeen: at, lastSeen: at))
    }

    private func usage(_ row: SQLiteStatement, id: String, report: inout ImportReport) throws -> ImportedRow {
        let provider = try SourceValues.text(row.bytes(1) ?? [], field: "provider")
        let model = try SourceValues.text(row.bytes(2) ?? [], field: "model")
        guard (1...64).contains(provider.unicodeScalars.count), (1...128).contains(model.unicodeScalars.count) else {
            throw SourceProblem("provider or model is empty or too long")
        }
        let counts = [row.integer(3) ?? 0, row.integer(4) ?? 0, row.integer(6) ?? 0]
        guard counts.allSatisfy({ (0...Int64(Int32.max)).contains($0) }) else { throw SourceProblem("a token count or duration is negative or too large") }
        let at = try SourceValues.timestamp(try row.bytes(7).map { try SourceValues.text($0, field: "created_at") }, field: "created_at")
        let request = try row.bytes(8).map { try SourceValues.text($0, field: "request_id") }
        guard (request?.unicodeScalars.count ?? 1) <= 128, request?.isEmpty != true else { throw SourceProblem("request_id is not 1–128 characters") }
        let owner = try self.owner(row.bytes(9), table: "llm_usage", sourceID: id, report: &report)
        let key = DeterministicID.make(format: Self.format, table: "llm_usage", sourceID: id).uuidString.lowercased()
        return ImportedRow(
            table: .llmUsage, sourceID: id, key: key,
            values: [key, owner, provider, model, String(counts[0]), String(counts[1]), String(counts[2]), nil, nil, nil, request, CopyText.date(at)],
            owner: ImportedUser(id: owner, firstSeen: at, lastSeen: at))
    }

    private static let columns = [
        "feedback": "id, playbook_id, rating, comment, created_at, user_id",
        "telemetry": "id, event_type, event_data, created_at, user_id, session_id",
        "llm_usage": "id, provider, model, prompt_tokens, completion_tokens, total_tokens, duration_ms, created_at, request_id, user_id",
    ]
    private static let tables: [String: ImportTable] = ["feedback": .feedback, "telemetry": .analyticsEvents, "llm_usage": .llmUsage]

    /// Every row of a source table made into a row of ours; a bad one is named and skipped.
    private func rows(
        of table: String, report: inout ImportReport, make: (SQLiteStatement, String, inout ImportReport) throws -> ImportedRow
    ) throws -> [ImportedRow] {
        guard try database.hasTable(table) else { return [] }
        let statement = try database.prepare("SELECT \(Self.columns[table]!) FROM \(table) ORDER BY id")
        var rows: [ImportedRow] = []
        while try statement.step() {
            report.read(Self.tables[table]!)
            let id = statement.text(0) ?? ""
            do {
                rows.append(try make(statement, id, &report))
            } catch {
                let reason = SourceProblem.reason(error)
                report.skip(Self.tables[table]!, reason: reason, badRow: BadRow(table: table, sourceID: id, reason: reason))
            }
        }
        return rows
    }

    /// The row's user: `--user-id` for `'anonymous'` or none when given, else the id as it is or
    /// mapped into the allowed form (noted).
    private func owner(_ bytes: [UInt8]?, table: String, sourceID: String, report: inout ImportReport) throws -> String {
        if bytes == nil || bytes!.isEmpty || bytes! == Array("anonymous".utf8) { return ownerWhenMissing ?? "anonymous" }
        let (id, mapped) = UserIDMapping.map(bytes!)
        if mapped, mappedUsers.insert(id).inserted {
            report.note("\(table) \(ImportSummary.quoted(sourceID)): user_id is outside the allowed form; mapped to \(id)")
        }
        return id
    }

    private static let eventTypeBytes = Set(Array("abcdefghijklmnopqrstuvwxyz0123456789_.:-".utf8))
}
