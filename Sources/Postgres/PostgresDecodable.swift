import FoundationEssentials

/// A Swift type that a column can be decoded into, from PostgreSQL's binary format.
public protocol PostgresDecodable: Sendable {
    /// Decodes a non-NULL value of the column's `type`. Throw `PostgresDecodingFailure` for a
    /// type this Swift type does not accept; the row adds the column's name.
    static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Self
    /// What a NULL decodes to: an error, except for `Optional`.
    static func decodeNull() throws -> Self
}

/// Why one value could not be decoded; the row turns it into a `PostgresError` naming the column.
public struct PostgresDecodingFailure: Error, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }

    static func unsupported(_ swiftType: Any.Type, _ type: PostgresDataType) -> Self {
        Self("cannot decode \(type) as \(swiftType)")
    }
}

extension PostgresDecodable {
    public static func decodeNull() throws -> Self {
        throw PostgresDecodingFailure("unexpected NULL for non-optional \(Self.self)")
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Self {
        try Wrapped.decode(from: bytes, type: type)
    }
    public static func decodeNull() throws -> Self { nil }
}

extension UnsafeRawBufferPointer {
    @inline(__always) func bigEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int = 0) throws -> T {
        guard offset + MemoryLayout<T>.size <= count else {
            throw PostgresDecodingFailure("value too short for \(T.self)")
        }
        return T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension Int64: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Int64 {
        switch type {
        case .int8: return try bytes.bigEndian(Int64.self)
        case .int4, .oid: return Int64(try bytes.bigEndian(Int32.self))
        case .int2: return Int64(try bytes.bigEndian(Int16.self))
        default: throw PostgresDecodingFailure.unsupported(Self.self, type)
        }
    }
}

extension Int: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Int {
        Int(try Int64.decode(from: bytes, type: type))
    }
}

extension Int32: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Int32 {
        switch type {
        case .int4: return try bytes.bigEndian(Int32.self)
        case .int2: return Int32(try bytes.bigEndian(Int16.self))
        default: throw PostgresDecodingFailure.unsupported(Self.self, type)
        }
    }
}

extension Int16: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Int16 {
        guard type == .int2 else { throw PostgresDecodingFailure.unsupported(Self.self, type) }
        return try bytes.bigEndian(Int16.self)
    }
}

extension Double: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Double {
        switch type {
        case .float8: return Double(bitPattern: try bytes.bigEndian(UInt64.self))
        case .float4: return Double(Float(bitPattern: try bytes.bigEndian(UInt32.self)))
        case .numeric:
            guard let value = Double(try PostgresNumeric.string(from: bytes)) else {
                throw PostgresDecodingFailure("numeric out of range for Double")
            }
            return value
        case .int8, .int4, .int2: return Double(try Int64.decode(from: bytes, type: type))
        default: throw PostgresDecodingFailure.unsupported(Self.self, type)
        }
    }
}

extension Bool: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Bool {
        guard type == .bool, bytes.count == 1 else { throw PostgresDecodingFailure.unsupported(Self.self, type) }
        return bytes[0] != 0
    }
}

extension String: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> String {
        if type.isText || type == .json { return String(decoding: bytes, as: UTF8.self) }
        switch type {
        case .jsonb: return String(decoding: try PostgresRawJSON.jsonbText(bytes), as: UTF8.self)
        case .numeric: return try PostgresNumeric.string(from: bytes)
        case .uuid: return try UUID.decode(from: bytes, type: type).uuidString.lowercased()
        default: throw PostgresDecodingFailure.unsupported(Self.self, type)
        }
    }
}

extension UUID: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> UUID {
        guard type == .uuid, bytes.count == 16 else { throw PostgresDecodingFailure.unsupported(Self.self, type) }
        var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: bytes) }
        return UUID(uuid: value)
    }
}

extension Date: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Date {
        guard type == .timestamptz || type == .timestamp else {
            throw PostgresDecodingFailure.unsupported(Self.self, type)
        }
        let microseconds = try bytes.bigEndian(Int64.self)
        if microseconds == .max { return .distantFuture }
        if microseconds == .min { return .distantPast }
        // Split to keep microsecond precision exact in the Double.
        let seconds = microseconds.quotientAndRemainder(dividingBy: 1_000_000)
        return Date(
            timeIntervalSince1970: postgresEpochOffsetSeconds + Double(seconds.quotient)
                + Double(seconds.remainder) / 1_000_000)
    }
}

extension PostgresBytes: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> PostgresBytes {
        guard type == .bytea else { throw PostgresDecodingFailure.unsupported(Self.self, type) }
        return PostgresBytes(Array(bytes))
    }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> [Element] {
        let dimensions = try bytes.bigEndian(Int32.self, at: 0)
        let elementType = PostgresDataType(rawValue: try bytes.bigEndian(UInt32.self, at: 8))
        if dimensions == 0 { return [] }
        guard dimensions == 1 else { throw PostgresDecodingFailure("only one-dimensional arrays are supported") }
        let count = Int(try bytes.bigEndian(Int32.self, at: 12))
        // Checked before the range below, which would trap on a negative count.
        guard count >= 0 else { throw PostgresDecodingFailure("negative array length") }
        var offset = 20
        var result: [Element] = []
        result.reserveCapacity(count)
        for _ in 0..<count {
            let length = Int(try bytes.bigEndian(Int32.self, at: offset))
            offset += 4
            if length < 0 {
                result.append(try Element.decodeNull())
                continue
            }
            guard offset + length <= bytes.count else { throw PostgresDecodingFailure("array element out of bounds") }
            let element = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
            result.append(try Element.decode(from: element, type: elementType))
            offset += length
        }
        return result
    }
}

/// Decodes PostgreSQL's binary `numeric` (base-10000 digits) to its exact decimal text.
enum PostgresNumeric {
    static func string(from bytes: UnsafeRawBufferPointer) throws -> String {
        let digitCount = Int(try bytes.bigEndian(Int16.self, at: 0))
        let weight = Int(try bytes.bigEndian(Int16.self, at: 2))
        let sign = try bytes.bigEndian(UInt16.self, at: 4)
        let scale = Int(try bytes.bigEndian(Int16.self, at: 6))
        switch sign {
        case 0xC000: return "NaN"
        case 0xD000: return "Infinity"
        case 0xF000: return "-Infinity"
        default: break
        }
        func digit(_ index: Int) throws -> Int {
            guard index >= 0, index < digitCount else { return 0 }
            let value = Int(try bytes.bigEndian(Int16.self, at: 8 + 2 * index))
            // `padded` would trap on a digit outside base 10000.
            guard (0..<10_000).contains(value) else { throw PostgresDecodingFailure("numeric digit out of range") }
            return value
        }
        func padded(_ value: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: 4 - text.count) + text
        }
        var text = sign == 0x4000 ? "-" : ""
        if weight < 0 {
            text += "0"
        } else {
            text += String(try digit(0))
            if weight >= 1 { for index in 1...weight { text += padded(try digit(index)) } }
        }
        if scale > 0 {
            var fraction = ""
            var group = 1
            while fraction.count < scale {
                fraction += padded(try digit(weight + group))
                group += 1
            }
            text += "." + fraction.prefix(scale)
        }
        return text
    }
}
