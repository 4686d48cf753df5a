import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import ResearchStore

/// `export`: a ResearchStore user export (`GET /db/users/{id}/export`), re-imported with its own
/// ids and counts: the user, their sessions with messages and research requests (and their status
/// history), feedback, LLM usage and analytics events. Restores an erased user exactly, so a
/// second export equals the first. The document is read whole into memory.
public final class ExportReader: ImportReader {
    private let document: JSONValue
    private var items: [ImportItem]?

    public init(path: String) throws {
        let bytes = try SourceFile.read(path)
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw ImportFailure("\(path) is not a ResearchStore export: \(error.message)")
        }
        guard case .object = document, document["user"] != nil, case .array? = document["sessions"] else {
            throw ImportFailure("\(path) is not a ResearchStore export (no user and sessions)")
        }
    }

    public func totals() throws -> [ImportTable: Int] {
        guard case .array(let sessions)? = document["sessions"] else { return [:] }
        let messages = sessions.reduce(0) { total, session in
            if case .array(let items)? = session["messages"] { return total + items.count }
            return total
        }
        return [.users: 1, .sessions: sessions.count, .messages: messages]
    }

    public func next(report: inout ImportReport) throws -> ImportItem? {
        if items == nil { items = convert(report: &report).reversed() }
        return items?.popLast()
    }

    /// The whole document as items, in the order they must be written.
    private func convert(report: inout ImportReport) -> [ImportItem] {
        var items: [ImportItem] = []
        let owner: ImportedUser
        do {
            let fields = try ExportFields(document["user"]!, what: "user")
            let id = try fields.string("id")
            guard UserIDMapping.isValid(id) else { throw SourceProblem("id is outside the allowed form") }
            owner = ImportedUser(id: id, firstSeen: try fields.date("first_seen"), lastSeen: try fields.date("last_seen"))
        } catch {
            // Without its user nothing of the export can be owned: every row is skipped.
            let reason = SourceProblem.reason(error)
            report.read(.users)
            report.skip(.users, reason: reason, badRow: BadRow(table: "user", sourceID: "user", reason: reason))
            return []
        }
        items.append(.user(owner))
        if case .array(let sessions)? = document["sessions"] {
            for value in sessions {
                report.read(.sessions)
                let sourceID = value["id"].flatMap { if case .string(let id) = $0 { id } else { nil } } ?? "?"
                var messages = 0
                if case .array(let items)? = value["messages"] { messages = items.count }
                report.read(.messages, messages)
                do {
                    items.append(.session(try ExportRecords.session(value, owner: owner.id)))
                } catch {
                    let reason = SourceProblem.reason(error)
                    report.skip(.sessions, reason: reason, badRow: BadRow(table: "sessions", sourceID: sourceID, reason: reason))
                    report.skip(.messages, reason: "its session was skipped", count: messages)
                }
            }
        }
        for (key, table) in [("feedback", ImportTable.feedback), ("llm_usage", .llmUsage), ("analytics_events", .analyticsEvents)] {
            guard case .array(let rows)? = document[key] else { continue }
            for value in rows {
                report.read(table)
                do {
                    items.append(.row(try ExportRecords.row(value, table: table, owner: owner.id)))
                } catch {
                    let reason = SourceProblem.reason(error)
                    let id = value["id"].map { if case .string(let id) = $0 { id } else { $0.serialized } } ?? "?"
                    report.skip(table, reason: reason, badRow: BadRow(table: key, sourceID: id, reason: reason))
                }
            }
        }
        return items
    }
}

/// Reads a whole file.
enum SourceFile {
    static func read(_ path: String) throws -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw ImportFailure("cannot open \(path)") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count > 0 { bytes.append(contentsOf: chunk[..<count]) }
            if count < chunk.count {
                guard ferror(file) == 0 else { throw ImportFailure("cannot read \(path)") }
                return bytes
            }
        }
    }
}
