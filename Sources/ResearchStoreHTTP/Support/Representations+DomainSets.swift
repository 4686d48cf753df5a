import FoundationEssentials
import ResearchStore

// How a domain set looks on the wire.

extension DomainSet {
    var json: JSONValue {
        .object([
            ("name", .string(name)),
            ("description", .string(description)),
            ("domains", .array(domains.map(JSONValue.string))),
            ("metadata", metadata),
            ("created_at", .timestamp(createdAt)),
            ("updated_at", .timestamp(updatedAt)),
        ])
    }
}
