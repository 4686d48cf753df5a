import FoundationEssentials
import ResearchStore

/// Why a source row cannot be imported: it is named in the report (table, source id, reason) and
/// skipped, or with `--strict` ends the run. Reasons never quote the row's content.
public struct BadRow: Error, Sendable, Equatable {
    public var table: String
    public var sourceID: String
    public var reason: String

    public init(table: String, sourceID: String, reason: String) {
        self.table = table
        self.sourceID = sourceID
        self.reason = reason
    }
}

/// Checks of source values against what the store accepts (schema.sql and the API's validation).
enum SourceValues {
    /// The API's limit on a message's content, in UTF-8 bytes.
    static let contentBytes = 256 * 1024
    /// Session titles are 1–200 characters.
    static let titleLength = 1...200

    /// `bytes` as text, or why not: invalid UTF-8 and U+0000 (which PostgreSQL's text and jsonb
    /// cannot hold) are refused.
    static func text(_ bytes: [UInt8], field: String) throws -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw SourceProblem("\(field) is not valid UTF-8") }
        guard !bytes.contains(0) else { throw SourceProblem("\(field) contains U+0000") }
        return text
    }

    /// A timestamp of the source: RFC 3339, or SQLite's `YYYY-MM-DD HH:MM:SS[.fff]` (UTC, as
    /// `CURRENT_TIMESTAMP` writes it). Anything else is refused, never guessed.
    static func timestamp(_ text: String?, field: String) throws -> Date {
        guard let text, !text.isEmpty else { throw SourceProblem("\(field) is missing") }
        if let date = Timestamp.parse(text) ?? Timestamp.parse(text + "Z") { return date }
        throw SourceProblem("\(field) is not a timestamp")
    }

    /// `role` if the contract has it (user, assistant, system, tool).
    static func role(_ role: String) throws -> String {
        guard Message.roles.contains(role) else { throw SourceProblem("role is not one of \(Message.roles.joined(separator: ", "))") }
        return role
    }

    /// A message's content within the API's limit.
    static func content(_ bytes: [UInt8]?) throws -> String {
        let content = try text(bytes ?? [], field: "content")
        guard bytes?.count ?? 0 <= contentBytes else { throw SourceProblem("content is over \(contentBytes) bytes") }
        return content
    }

    /// `text` cut to at most 200 characters (Unicode scalars, as PostgreSQL's char_length
    /// counts), or `fallback` when empty.
    static func title(_ text: String?, fallback: String) -> String {
        let text = text ?? ""
        let start = text.firstIndex { !$0.isWhitespace } ?? text.endIndex
        let end = text.lastIndex { !$0.isWhitespace }.map(text.index(after:)) ?? text.endIndex
        let scalars = start < end ? text[start..<end].unicodeScalars : Substring().unicodeScalars
        guard !scalars.isEmpty else { return fallback }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars.prefix(titleLength.upperBound))
        return String(view)
    }
}

/// A value the store cannot take; the reader turns it into a `BadRow` with its table and id.
struct SourceProblem: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }

    /// The reason of a problem; any other error (none is expected) by its description.
    static func reason(_ error: any Error) -> String { (error as? SourceProblem)?.reason ?? "\(error)" }
}
