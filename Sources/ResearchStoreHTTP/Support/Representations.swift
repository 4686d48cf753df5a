import FoundationEssentials
import ResearchStore

/// How the service's models look on the wire: snake_case keys, RFC 3339 millisecond timestamps.
extension JSONValue {
    static func timestamp(_ date: Date?) -> JSONValue {
        date.map { .string(Timestamp.format($0)) } ?? .null
    }

    static func integer<Number: BinaryInteger>(_ value: Number) -> JSONValue { .number(String(value)) }

    static func page<Item>(_ page: Page<Item>, _ item: (Item) -> JSONValue) -> JSONValue {
        .object([("items", .array(page.items.map(item))), ("next_cursor", page.nextCursor.map(JSONValue.string) ?? .null)])
    }
}

extension JSONValue {
    static func double(_ value: Double?) -> JSONValue {
        guard let value, value.isFinite else { return .null }
        return .number(value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)")
    }
}
