import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import ResearchStore
import SQLite

/// `graysky`: Agentic Graysky's data (seed document 001), from its SQLite database or from the
/// JSON files it migrated from (a folder with `visitors.json` and/or `feedback.json`: arrays of
/// objects with the tables' column names, a visitor's `answers` as an object). A session per
/// visitor, owned by `--user-id` (visitors are not users), titled with the visitor's name, with
/// `agent_type`, `purpose`, `visit_count` and `answers` in metadata and `visit_time` as its
/// creation; feedback as analytics events `feedback.submitted` with its fields as properties.
public final class GrayskyReader: ImportReader {
    static let format = "graysky"
    var visitors: [Visitor] = []
    var feedback: [Fields] = []
    private let owner: String
    private var position = 0
    /// Bad rows met while loading (orphan answers), handed to the report on the first `next`.
    var problems: [BadRow] = []
    private var answersRead = 0

    /// A source row's fields, from either form: text (nil for NULL or absent) and integers.
    struct Fields {
        var id: String
        var text: [String: Result<String, SourceProblem>] = [:]
        var integers: [String: Int64?] = [:]

        func string(_ key: String) throws -> String? { try text[key]?.get() }
    }

    struct Visitor {
        var fields: Fields
        var answers: [(key: String, value: String)] = []
        var problem: SourceProblem?
    }

    public init(path: String, owner: String?) throws {
        guard let owner else { throw ImportFailure("graysky needs --user-id: its visitors are not users; name the owner of their sessions") }
        self.owner = owner
        var isFolder = false
        if let directory = opendir(path) {
            closedir(directory)
            isFolder = true
        }
        if isFolder { try loadJSON(folder: path) } else { try loadSQLite(path) }
    }

    public func totals() throws -> [ImportTable: Int] { [.sessions: visitors.count, .analyticsEvents: feedback.count] }

    public func next(report: inout ImportReport) throws -> ImportItem? {
        for problem in problems { report.bad(problem) }
        problems = []
        while position < visitors.count + feedback.count {
            defer { position += 1 }
            if position < visitors.count {
                report.read(.sessions)
                let visitor = visitors[position]
                do {
                    return .session(try session(visitor))
                } catch {
                    let reason = SourceProblem.reason(error)
                    report.skip(.sessions, reason: reason, badRow: BadRow(table: "visitors", sourceID: visitor.fields.id, reason: reason))
                }
            } else {
                report.read(.analyticsEvents)
                let fields = feedback[position - visitors.count]
                do {
                    return .row(try event(fields))
                } catch {
                    let reason = SourceProblem.reason(error)
                    report.skip(.analyticsEvents, reason: reason, badRow: BadRow(table: "feedback", sourceID: fields.id, reason: reason))
                }
            }
        }
        return nil
    }

    private func session(_ visitor: Visitor) throws -> ImportedSession {
        if let problem = visitor.problem { throw problem }
        let fields = visitor.fields
        let visited = try SourceValues.timestamp(try fields.string("visit_time"), field: "visit_time")
        var metadata: [(key: String, value: JSONValue)] = []
        for key in ["agent_type", "purpose"] {
            if let value = try fields.string(key) { metadata.append((key, .string(value))) }
        }
        if case .some(.some(let count)) = fields.integers["visit_count"] { metadata.append(("visit_count", .number(String(count)))) }
        metadata.append(("answers", .object(visitor.answers.map { ($0.key, JSONValue.string($0.value)) })))
        return ImportedSession(
            id: DeterministicID.make(format: Self.format, table: "visitors", sourceID: fields.id), sourceID: fields.id, userID: owner,
            title: SourceValues.title(try fields.string("name"), fallback: "Graysky visitor"), metadata: .object(metadata),
            createdAt: visited, updatedAt: visited, lastMessageAt: nil, messages: [])
    }

    private func event(_ fields: Fields) throws -> ImportedRow {
        let at = try SourceValues.timestamp(try fields.string("submission_time"), field: "submission_time")
        var properties: [(key: String, value: JSONValue)] = [("id", .string(fields.id))]
        for key in ["agent_name", "agent_type", "issues", "feature_requests"] {
            if let value = try fields.string(key) { properties.append((key, .string(value))) }
        }
        switch fields.integers["usability_rating"] {
        case .some(.some(let rating)):
            guard (1...10).contains(rating) else { throw SourceProblem("usability_rating is not 1–10") }
            properties.append(("usability_rating", .number(String(rating))))
        case .some(.none): throw SourceProblem("usability_rating is not a whole number")
        case .none: break
        }
        if let value = try fields.string("additional_comments") { properties.append(("additional_comments", .string(value))) }
        let key = String(DeterministicID.negativeInteger(format: Self.format, table: "feedback", sourceID: fields.id))
        return ImportedRow(
            table: .analyticsEvents, sourceID: fields.id, key: key,
            values: [key, owner, nil, "feedback.submitted", JSONValue.object(properties).serialized, nil, CopyText.date(at), CopyText.date(at)],
            owner: ImportedUser(id: owner, firstSeen: at, lastSeen: at))
    }
}
