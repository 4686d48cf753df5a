import FoundationEssentials
import Postgres

/// A named set of domains a research workflow may search; deployment-wide, written by admins.
public struct DomainSet: Sendable, Equatable {
    public var name: String
    public var description: String
    public var domains: [String]
    public var metadata: JSONValue
    public var createdAt: Date
    public var updatedAt: Date

    static let columns: StaticString = "name, description, domains, metadata, created_at, updated_at"

    init(row: PostgresRow) throws {
        let (name, description, domains, metadata, createdAt, updatedAt) = try row.decode(
            (String, String, [String], PostgresRawJSON, Date, Date).self)
        self.init(
            name: name, description: description, domains: domains, metadata: .raw(metadata.text), createdAt: createdAt,
            updatedAt: updatedAt)
    }

    public init(name: String, description: String, domains: [String], metadata: JSONValue, createdAt: Date, updatedAt: Date) {
        self.name = name
        self.description = description
        self.domains = domains
        self.metadata = metadata
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// 1–64 characters of `[a-z0-9_-]`.
    public static func isValidName(_ name: String) -> Bool {
        CharacterClass.matches(name, length: 1...64, nameCharacter)
    }

    /// `[a-z0-9_-]`.
    static func nameCharacter(_ byte: UInt8) -> Bool {
        CharacterClass.lowercaseAlphanumeric(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }
}

/// A domain set's fields as a client sends them, validated.
struct DomainSetContent: Sendable {
    var description: String
    var domains: [String]
    var metadata: JSONValue
}

/// Host names as RFC 1123 has them: dot-separated labels of 1–63 letters, digits and inner
/// hyphens, at most 253 characters in all.
enum HostName {
    /// The lower-cased host name, or nil when `text` is not one.
    static func normalized(_ text: String) -> String? {
        let lowered = text.lowercased()
        guard (1...253).contains(lowered.utf8.count) else { return nil }
        let labels = lowered.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for label in labels {
            guard (1...63).contains(label.count), label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-"),
                label.allSatisfy({ CharacterClass.lowercaseAlphanumeric($0) || $0 == UInt8(ascii: "-") })
            else { return nil }
        }
        return lowered
    }
}
