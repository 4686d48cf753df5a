import FoundationEssentials

/// JSON text passed through untouched: sent as `jsonb`, decoded from `json` or `jsonb`.
///
/// For values the service stores and returns verbatim (`metadata`, `properties`), so numbers are
/// never reinterpreted by a Swift type on the way.
public struct PostgresRawJSON: PostgresArrayElement, Hashable {
    /// UTF-8 JSON text.
    public var bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { self.bytes = Array(text.utf8) }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public static var postgresType: PostgresDataType { .jsonb }
    public static var postgresArrayType: PostgresDataType { .jsonbArray }

    /// jsonb's binary form is a version byte (1) and the text.
    public func encode(into buffer: inout [UInt8]) {
        buffer.append(1)
        buffer.append(contentsOf: bytes)
    }

    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> PostgresRawJSON {
        switch type {
        case .jsonb: return PostgresRawJSON(bytes: Array(try jsonbText(bytes)))
        case .json: return PostgresRawJSON(bytes: Array(bytes))
        default: throw PostgresDecodingFailure.unsupported(Self.self, type)
        }
    }

    static func jsonbText(_ bytes: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer {
        guard let version = bytes.first, version == 1 else {
            throw PostgresDecodingFailure("unknown jsonb format version")
        }
        return UnsafeRawBufferPointer(rebasing: bytes[1...])
    }
}

/// A `Codable` value stored as `jsonb`.
public struct PostgresJSON<Value: Codable & Sendable>: PostgresEncodable, PostgresDecodable {
    public var value: Value
    public init(_ value: Value) { self.value = value }

    public static var postgresType: PostgresDataType { .jsonb }

    public func encode(into buffer: inout [UInt8]) {
        buffer.append(1)
        // Encoding a Codable value to JSON fails only for non-finite floats; store null then,
        // which the schema's CHECKs reject where an object is required.
        let data = (try? JSONEncoder().encode(value)) ?? Data("null".utf8)
        buffer.append(contentsOf: data)
    }

    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> PostgresJSON {
        let raw = try PostgresRawJSON.decode(from: bytes, type: type)
        do {
            return PostgresJSON(try JSONDecoder().decode(Value.self, from: Data(raw.bytes)))
        } catch {
            throw PostgresDecodingFailure("JSON does not match \(Value.self)")
        }
    }
}
