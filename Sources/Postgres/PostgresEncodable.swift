import FoundationEssentials

/// A Swift value that can be sent as a bind parameter, in PostgreSQL's binary format.
public protocol PostgresEncodable: Sendable {
    /// The parameter's type, sent with it so the server never guesses.
    static var postgresType: PostgresDataType { get }
    /// Appends the binary representation. Throws `unrepresentableValue` for a value PostgreSQL
    /// cannot hold (conformances that always succeed need not be marked `throws`).
    func encode(into buffer: inout [UInt8]) throws(PostgresError)
}

/// A value that can be an element of a one-dimensional array parameter.
public protocol PostgresArrayElement: PostgresEncodable, PostgresDecodable {
    static var postgresArrayType: PostgresDataType { get }
}

extension FixedWidthInteger {
    @inline(__always) func appendBigEndian(to buffer: inout [UInt8]) {
        withUnsafeBytes(of: bigEndian) { buffer.append(contentsOf: $0) }
    }
}

extension Int: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .int8 }
    public static var postgresArrayType: PostgresDataType { .int8Array }
    public func encode(into buffer: inout [UInt8]) { Int64(self).appendBigEndian(to: &buffer) }
}

extension Int64: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .int8 }
    public static var postgresArrayType: PostgresDataType { .int8Array }
    public func encode(into buffer: inout [UInt8]) { appendBigEndian(to: &buffer) }
}

extension Int32: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .int4 }
    public static var postgresArrayType: PostgresDataType { .int4Array }
    public func encode(into buffer: inout [UInt8]) { appendBigEndian(to: &buffer) }
}

extension Int16: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .int2 }
    public static var postgresArrayType: PostgresDataType { .int2Array }
    public func encode(into buffer: inout [UInt8]) { appendBigEndian(to: &buffer) }
}

extension Double: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .float8 }
    public static var postgresArrayType: PostgresDataType { .float8Array }
    public func encode(into buffer: inout [UInt8]) { bitPattern.appendBigEndian(to: &buffer) }
}

extension Bool: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .bool }
    public static var postgresArrayType: PostgresDataType { .boolArray }
    public func encode(into buffer: inout [UInt8]) { buffer.append(self ? 1 : 0) }
}

extension String: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .text }
    public static var postgresArrayType: PostgresDataType { .textArray }
    public func encode(into buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
}

extension Substring: PostgresEncodable {
    public static var postgresType: PostgresDataType { .text }
    public func encode(into buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
}

extension UUID: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .uuid }
    public static var postgresArrayType: PostgresDataType { .uuidArray }
    public func encode(into buffer: inout [UInt8]) {
        withUnsafeBytes(of: uuid) { buffer.append(contentsOf: $0) }
    }
}

/// Seconds between the Unix epoch and PostgreSQL's epoch, 2000-01-01 UTC.
let postgresEpochOffsetSeconds: Double = 946_684_800

/// `timestamptz`'s range in microseconds since 2000-01-01 UTC: from 4713-11-24 BC 00:00 UTC
/// (PostgreSQL's `MIN_TIMESTAMP`, shown as 4714-11-24 BC) up to, not including, 294277-01-01
/// 00:00 UTC (`END_TIMESTAMP`).
let postgresTimestampRange: Range<Int64> = -211_813_488_000_000_000..<9_223_371_331_200_000_000

extension Date: PostgresArrayElement {
    public static var postgresType: PostgresDataType { .timestamptz }
    public static var postgresArrayType: PostgresDataType { .timestamptzArray }
    /// Throws for NaN, infinities and dates outside `timestamptz`'s range instead of trapping in
    /// the conversion to `Int64`. Whole seconds and the fraction are converted apart, so a whole
    /// second stays exact even near the range's ends (where a `Double` of microseconds is not).
    public func encode(into buffer: inout [UInt8]) throws(PostgresError) {
        let seconds = timeIntervalSince1970 - postgresEpochOffsetSeconds
        let range = postgresTimestampRange
        // Checked in seconds first, so the Int64 conversions below cannot trap (false for NaN too).
        guard seconds >= Double(range.lowerBound / 1_000_000), seconds < Double(range.upperBound / 1_000_000) else {
            throw PostgresError(code: .unrepresentableValue, message: "the date is outside timestamptz's range")
        }
        let whole = seconds.rounded(.down)
        let microseconds = Int64(whole) * 1_000_000 + Int64(((seconds - whole) * 1_000_000).rounded())
        guard range.contains(microseconds) else {  // the fraction rounded up to the end
            throw PostgresError(code: .unrepresentableValue, message: "the date is outside timestamptz's range")
        }
        microseconds.appendBigEndian(to: &buffer)
    }
}

/// Raw bytes, sent as `bytea`.
public struct PostgresBytes: PostgresEncodable, Hashable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public static var postgresType: PostgresDataType { .bytea }
    public func encode(into buffer: inout [UInt8]) { buffer.append(contentsOf: bytes) }
}

extension Array: PostgresEncodable where Element: PostgresArrayElement {
    public static var postgresType: PostgresDataType { Element.postgresArrayType }

    /// One-dimensional array, lower bound 1: `ndim, hasnull, elemtype, (dim, lbound), (len, bytes)*`.
    /// An element that cannot be encoded fails the whole array.
    public func encode(into buffer: inout [UInt8]) throws(PostgresError) {
        guard let elementCount = Int32(exactly: count) else {
            throw PostgresError(code: .unrepresentableValue, message: "the array has too many elements")
        }
        Int32(isEmpty ? 0 : 1).appendBigEndian(to: &buffer)
        Int32(0).appendBigEndian(to: &buffer)
        Element.postgresType.rawValue.appendBigEndian(to: &buffer)
        guard !isEmpty else { return }
        elementCount.appendBigEndian(to: &buffer)
        Int32(1).appendBigEndian(to: &buffer)
        for element in self {
            let lengthAt = buffer.count
            Int32(0).appendBigEndian(to: &buffer)
            try element.encode(into: &buffer)
            guard let length = Int32(exactly: buffer.count - lengthAt - 4) else {
                throw PostgresError(code: .unrepresentableValue, message: "an array element is larger than 2 GiB")
            }
            Swift.withUnsafeBytes(of: length.bigEndian) { bytes in
                for index in 0..<4 { buffer[lengthAt + index] = bytes[index] }
            }
        }
    }
}
