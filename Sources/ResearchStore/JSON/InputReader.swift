import FoundationEssentials

/// Reads typed fields out of a request's JSON object, collecting every problem with its path
/// instead of stopping at the first, so a client learns about all bad fields at once.
/// Unknown fields are ignored.
public struct InputReader {
    private let object: JSONValue
    private let prefix: String
    public private(set) var errors: [FieldError] = []

    /// Size limit of `metadata`, `properties`, `parameters` and `result` objects (64 KiB of JSON).
    public static let maximumObjectBytes = 64 * 1024

    public init(_ object: JSONValue, path prefix: String = "") {
        self.object = object
        self.prefix = prefix
    }

    /// `prefix.key`, or `key` at the top level.
    public func path(_ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

    public mutating func fail(_ key: String, _ message: String) {
        errors.append(FieldError(field: path(key), message: message))
    }

    public mutating func merge(_ other: [FieldError]) { errors.append(contentsOf: other) }

    /// Throws `invalid` with every collected problem, if any.
    public func finish() throws(ServiceError) {
        if !errors.isEmpty { throw ServiceError.invalid(errors) }
    }

    /// The raw value of an optional field (nil when absent, or null where `nullable`), for
    /// readers of special types.
    public mutating func optionalValue(_ key: String, nullable: Bool = false) -> JSONValue? {
        value(key, required: false, nullable: nullable)
    }

    /// The field's value; nil when absent (a problem if `required`) or null. An explicit `null`
    /// means "no value", which only a `nullable` field may have: it is never taken for "absent"
    /// (a `PATCH` with `"title": null` is refused, not ignored).
    private mutating func value(_ key: String, required: Bool, nullable: Bool = false) -> JSONValue? {
        guard let value = object[key] else {
            if required { fail(key, "is required") }
            return nil
        }
        guard value != .null else {
            if required || !nullable { fail(key, "must not be null") }
            return nil
        }
        return value
    }

    /// A string of `length` Unicode scalars; with `allowed`, only of those (ASCII) bytes.
    public mutating func string(
        _ key: String, required: Bool = true, nullable: Bool = false, length: ClosedRange<Int>, allowed: ((UInt8) -> Bool)? = nil,
        description: String? = nil
    ) -> String? {
        guard let value = value(key, required: required, nullable: nullable) else { return nil }
        guard case .string(let text) = value else {
            fail(key, "must be a string, not \(value.typeName)")
            return nil
        }
        let count = text.unicodeScalars.count
        guard length.contains(count) else {
            fail(key, "must be \(length.lowerBound) to \(length.upperBound) characters long (is \(count))")
            return nil
        }
        if let allowed, !text.utf8.allSatisfy(allowed) {
            fail(key, "must be \(description ?? "made of allowed characters")")
            return nil
        }
        return text
    }

    /// A string of at most `maximumBytes` UTF-8 bytes.
    public mutating func text(_ key: String, required: Bool = true, nullable: Bool = false, maximumBytes: Int, allowEmpty: Bool = false) -> String? {
        guard let value = value(key, required: required, nullable: nullable) else { return nil }
        guard case .string(let text) = value else {
            fail(key, "must be a string, not \(value.typeName)")
            return nil
        }
        if !allowEmpty, text.isEmpty {
            fail(key, "must not be empty")
            return nil
        }
        guard text.utf8.count <= maximumBytes else {
            fail(key, "must be at most \(maximumBytes) bytes of UTF-8 (is \(text.utf8.count))")
            return nil
        }
        return text
    }

    /// One of `allowed`.
    public mutating func choice(_ key: String, required: Bool = true, nullable: Bool = false, of allowed: [String]) -> String? {
        guard let value = value(key, required: required, nullable: nullable) else { return nil }
        guard case .string(let text) = value, allowed.contains(text) else {
            fail(key, "must be one of \(allowed.joined(separator: ", "))")
            return nil
        }
        return text
    }

    /// An integer in `range`.
    public mutating func integer(_ key: String, required: Bool = true, nullable: Bool = false, in range: ClosedRange<Int64>) -> Int64? {
        guard let value = value(key, required: required, nullable: nullable) else { return nil }
        guard case .number(let text) = value, let number = Int64(text) else {
            fail(key, "must be an integer")
            return nil
        }
        guard range.contains(number) else {
            fail(key, "must be between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return number
    }

    /// A non-negative finite number.
    public mutating func nonNegativeNumber(_ key: String, required: Bool = true, nullable: Bool = false) -> Double? {
        guard let value = value(key, required: required, nullable: nullable) else { return nil }
        guard case .number(let text) = value, let number = Double(text), number.isFinite else {
            fail(key, "must be a number")
            return nil
        }
        guard number >= 0 else {
            fail(key, "must not be negative")
            return nil
        }
        return number
    }

    /// A UUID (any version).
    public mutating func uuid(_ key: String, required: Bool = true, nullable: Bool = false) -> UUID? {
        guard let value = value(key, required: required, nullable: nullable) else { return nil }
        guard case .string(let text) = value, let id = UUID(uuidString: text) else {
            fail(key, "must be a UUID")
            return nil
        }
        return id
    }

    /// An RFC 3339 timestamp, truncated to milliseconds.
    public mutating func timestamp(_ key: String, required: Bool = true, nullable: Bool = false) -> Date? {
        guard let value = value(key, required: required, nullable: nullable) else { return nil }
        guard case .string(let text) = value, let date = Timestamp.parse(text) else {
            fail(key, "must be an RFC 3339 timestamp")
            return nil
        }
        return date
    }

    /// A JSON object of at most `maximumObjectBytes`, as compact JSON text.
    public mutating func object(
        _ key: String, required: Bool = false, nullable: Bool = false, maximumBytes: Int = maximumObjectBytes
    )
        -> JSONValue?
    {
        guard let value = value(key, required: required, nullable: nullable) else { return nil }
        guard case .object = value else {
            fail(key, "must be a JSON object, not \(value.typeName)")
            return nil
        }
        let text = value.serialized
        guard text.utf8.count <= maximumBytes else {
            fail(key, "must be at most \(maximumBytes) bytes of JSON (is \(text.utf8.count))")
            return nil
        }
        return .raw(text)  // serialised once, reused when stored
    }

    /// An array of `count` items, each read by `readItem` with its own indexed path.
    public mutating func array<Item>(
        _ key: String, required: Bool = true, nullable: Bool = false, count: ClosedRange<Int>,
        _ readItem: (inout InputReader, JSONValue, String) -> Item?
    ) -> [Item]? {
        guard let value = value(key, required: required, nullable: nullable) else { return nil }
        guard case .array(let items) = value else {
            fail(key, "must be an array, not \(value.typeName)")
            return nil
        }
        guard count.contains(items.count) else {
            fail(key, "must have \(count.lowerBound) to \(count.upperBound) items (has \(items.count))")
            return nil
        }
        var result: [Item] = []
        result.reserveCapacity(items.count)
        var failed = false
        for (index, item) in items.enumerated() {
            if let read = readItem(&self, item, "\(path(key))[\(index)]") {
                result.append(read)
            } else {
                failed = true
            }
        }
        return failed ? nil : result
    }
}
