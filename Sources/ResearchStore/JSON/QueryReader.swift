import FoundationEssentials

/// Reads typed query parameters, collecting every problem (422, by parameter name) like
/// `InputReader` does for bodies. A cursor the server did not issue is `400`.
public struct QueryReader {
    private let values: [String: String]
    public private(set) var errors: [FieldError] = []

    public init(_ values: [String: String]) {
        self.values = values
    }

    public mutating func fail(_ name: String, _ message: String) {
        errors.append(FieldError(field: name, message: message))
    }

    /// Throws `invalid` with every collected problem, if any.
    public func finish() throws(ServiceError) {
        if !errors.isEmpty { throw ServiceError.invalid(errors) }
    }

    /// An integer in `range`, or `defaultValue` when absent.
    public mutating func integer(_ name: String, in range: ClosedRange<Int>, default defaultValue: Int) -> Int {
        guard let text = values[name] else { return defaultValue }
        guard let number = Int(text), range.contains(number) else {
            fail(name, "must be an integer from \(range.lowerBound) to \(range.upperBound)")
            return defaultValue
        }
        return number
    }

    /// A list's `limit`: its default when absent; `0` or above the maximum refused.
    mutating func limit(_ paging: Paging) -> Int {
        integer("limit", in: 1...paging.maximumLimit, default: paging.defaultLimit)
    }

    /// One of `allowed`, or nil when absent.
    public mutating func choice(_ name: String, of allowed: [String]) -> String? {
        guard let text = values[name] else { return nil }
        guard allowed.contains(text) else {
            fail(name, "must be one of \(allowed.joined(separator: ", "))")
            return nil
        }
        return text
    }

    /// A value of `length` characters of `allowed` bytes, or nil when absent.
    public mutating func string(
        _ name: String, length: ClosedRange<Int>, allowed: (UInt8) -> Bool, description: String
    ) -> String? {
        guard let text = values[name] else { return nil }
        guard CharacterClass.matches(text, length: length, allowed) else {
            fail(name, "must be \(description)")
            return nil
        }
        return text
    }

    public mutating func uuid(_ name: String) -> UUID? {
        guard let text = values[name] else { return nil }
        guard let id = UUID(uuidString: text) else {
            fail(name, "must be a UUID")
            return nil
        }
        return id
    }

    public mutating func timestamp(_ name: String) -> Date? {
        guard let text = values[name] else { return nil }
        guard let date = Timestamp.parse(text) else {
            fail(name, "must be an RFC 3339 timestamp")
            return nil
        }
        return date
    }

    /// A `from`/`to` window: by default the last 24 hours, ending just after now so that a row
    /// written this millisecond is in it; `from` after `to` or a span over `maximumDays` is refused.
    mutating func window(maximumDays: Double) -> (from: Date, to: Date) {
        let to = timestamp("to") ?? Timestamp.truncatedToMilliseconds(Date()).addingTimeInterval(0.001)
        let from = timestamp("from") ?? to.addingTimeInterval(-86_400)
        if from > to {
            fail("from", "must not be after to")
        } else if to.timeIntervalSince(from) > maximumDays * 86_400 {
            fail("from", "the window may span at most \(Int(maximumDays)) days")
        }
        return (from, to)
    }

    /// The `cursor` of a list of `kind`, or nil when absent; `400` unless `signer` issued it.
    public func cursor(kind: String, signer: CursorSigner) throws(ServiceError) -> Cursor? {
        guard let text = values["cursor"] else { return nil }
        return try signer.decode(text, kind: kind)
    }

    /// A cursor of a list ordered by a time and an id: both must be there, the time one that
    /// PostgreSQL can hold.
    public func timeCursor(kind: String, signer: CursorSigner) throws(ServiceError) -> (after: Date, id: UUID)? {
        guard let cursor = try cursor(kind: kind, signer: signer) else { return nil }
        guard let after = cursor.positionDate, let id = cursor.id else {
            throw ServiceError(.malformed, "cursor was not issued by this server for this list", fieldErrors: [
                FieldError(field: "cursor", message: "was not issued by this server for this list")
            ])
        }
        return (after, id)
    }
}
