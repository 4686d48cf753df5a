import FoundationEssentials
import ResearchStore

/// Typed reads of one object of an export document; a missing or mistyped field is a
/// `SourceProblem` naming the field (never its value).
struct ExportFields {
    let value: JSONValue

    init(_ value: JSONValue, what: String) throws {
        guard case .object = value else { throw SourceProblem("\(what) is not an object") }
        self.value = value
    }

    func string(_ key: String) throws -> String {
        guard case .string(let text)? = value[key] else { throw SourceProblem("\(key) is missing or not a string") }
        return text
    }

    func optionalString(_ key: String) throws -> String? {
        switch value[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw SourceProblem("\(key) is not a string")
        }
    }

    func integer(_ key: String) throws -> Int {
        guard case .number(let text)? = value[key], let number = Int(text) else { throw SourceProblem("\(key) is not an integer") }
        return number
    }

    /// A number as its JSON text (kept exact for numeric columns), nil for null or missing.
    func optionalNumber(_ key: String) throws -> String? {
        switch value[key] {
        case nil, .null?: return nil
        case .number(let text)?: return text
        default: throw SourceProblem("\(key) is not a number")
        }
    }

    func bool(_ key: String) throws -> Bool {
        guard case .bool(let flag)? = value[key] else { throw SourceProblem("\(key) is not a boolean") }
        return flag
    }

    func uuid(_ key: String) throws -> UUID {
        guard let id = UUID(uuidString: try string(key)) else { throw SourceProblem("\(key) is not a UUID") }
        return id
    }

    func optionalUUID(_ key: String) throws -> UUID? {
        try optionalString(key).map { text in
            guard let id = UUID(uuidString: text) else { throw SourceProblem("\(key) is not a UUID") }
            return id
        }
    }

    func date(_ key: String) throws -> Date {
        try SourceValues.timestamp(try string(key), field: key)
    }

    func optionalDate(_ key: String) throws -> Date? {
        try optionalString(key).map { try SourceValues.timestamp($0, field: key) }
    }

    func object(_ key: String) throws -> JSONValue {
        guard let member = value[key], case .object = member else { throw SourceProblem("\(key) is not an object") }
        return member
    }

    func array(_ key: String) throws -> [JSONValue] {
        switch value[key] {
        case nil, .null?: return []
        case .array(let items)?: return items
        default: throw SourceProblem("\(key) is not an array")
        }
    }

    /// Any JSON value as the text of a json(b) column, nil for null or missing.
    func optionalJSON(_ key: String) -> String? {
        switch value[key] {
        case nil, .null?: return nil
        case let member?: return member.serialized
        }
    }
}

/// Values as COPY text.
enum CopyText {
    static func uuid(_ id: UUID?) -> String? { id?.uuidString.lowercased() }
    static func date(_ date: Date?) -> String? { date.map(Timestamp.format) }

    /// A PostgreSQL `text[]` literal: every element quoted, `"` and `\` escaped.
    static func textArray(_ items: [String]) -> String {
        "{" + items.map { item in
            "\"" + item.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
        }.joined(separator: ",") + "}"
    }
}
