/// A SQL statement and its bind parameters.
///
/// Built by string interpolation, each `\(value)` becomes a `$n` placeholder and a typed binary
/// parameter, so the safe way is the easy way:
///
///     let rows = try await connection.query("SELECT title FROM sessions WHERE id = \(id)")
///
/// Identifiers (never values) can be interpolated with `\(identifier: name)`, which quotes them.
/// Bind values are never printed: `description` shows the SQL with placeholders only.
public struct PostgresQuery: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public var sql: String
    public var bindings: PostgresBindings

    /// A statement with explicit bindings, for SQL assembled by code (e.g. a variable-length
    /// `VALUES` list). The SQL must refer to `bindings` as `$1…$n`.
    public init(unsafeSQL sql: String, bindings: PostgresBindings = PostgresBindings()) {
        self.sql = sql
        self.bindings = bindings
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, bindings: stringInterpolation.bindings)
    }

    public var description: String { sql }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql: String
        var bindings = PostgresBindings()

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// A bind parameter.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value) {
            bindings.append(value)
            sql += "$\(bindings.count)"
        }

        /// A bind parameter that may be NULL.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value?) {
            bindings.append(value)
            sql += "$\(bindings.count)"
        }

        /// A fragment of SQL fixed at compile time (a column list shared by several statements).
        /// Only a `StaticString` is accepted, so no runtime value can get in this way.
        public mutating func appendInterpolation(unescaped fragment: StaticString) {
            sql += fragment.description
        }

        /// A quoted identifier (table or column name), never a value.
        public mutating func appendInterpolation(identifier: String) {
            sql += PostgresQuery.quoteIdentifier(identifier)
        }
    }

    /// `"name"` with embedded quotes doubled.
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacing("\"", with: "\"\"") + "\""
    }
}

/// Bind parameters in PostgreSQL's binary format, in one contiguous buffer.
public struct PostgresBindings: Sendable {
    var types: [UInt32] = []
    var bytes: [UInt8] = []
    /// Start of each value in `bytes`.
    var offsets: [Int] = []
    /// Length of each value; -1 for NULL.
    var lengths: [Int32] = []
    /// The first value that could not be encoded. Appending never fails (interpolation cannot
    /// throw); every way of running a statement throws this before sending anything.
    public private(set) var encodingError: PostgresError?

    public init() {}

    public var count: Int { types.count }

    public mutating func append<Value: PostgresEncodable>(_ value: Value) {
        types.append(Value.postgresType.rawValue)
        let start = bytes.count
        offsets.append(start)
        do throws(PostgresError) {
            try value.encode(into: &bytes)
            guard let length = Int32(exactly: bytes.count - start) else {
                throw PostgresError(code: .unrepresentableValue, message: "the value is larger than 2 GiB")
            }
            lengths.append(length)
        } catch {
            // Keep the numbering: the parameter stays, as NULL, and is never sent.
            bytes.removeSubrange(start...)
            lengths.append(-1)
            if encodingError == nil {
                var failure = error
                failure.message = "parameter $\(types.count) (\(Value.postgresType)): " + (error.message ?? "cannot be encoded")
                encodingError = failure
            }
        }
    }

    /// Throws the first encoding failure, if any.
    func checkEncoded() throws(PostgresError) {
        if let encodingError { throw encodingError }
    }

    public mutating func append<Value: PostgresEncodable>(_ value: Value?) {
        if let value {
            append(value)
        } else {
            types.append(Value.postgresType.rawValue)
            offsets.append(bytes.count)
            lengths.append(-1)
        }
    }

    /// Calls `body` with the C arrays `PQexecParams` wants; the pointers live only inside `body`.
    func withCArrays<R>(
        _ body: (
            _ count: Int32, _ types: UnsafePointer<UInt32>?, _ values: UnsafePointer<UnsafePointer<CChar>?>?,
            _ lengths: UnsafePointer<Int32>?, _ formats: UnsafePointer<Int32>?
        ) throws -> R
    ) rethrows -> R {
        if types.isEmpty { return try body(0, nil, nil, nil, nil) }
        let formats = [Int32](repeating: 1, count: types.count)
        return try bytes.withUnsafeBufferPointer { buffer in
            try withUnsafeTemporaryAllocation(of: CChar.self, capacity: 1) { empty in
                // libpq reads a NULL pointer as SQL NULL, so zero-length values need a real address.
                let emptyAddress = UnsafePointer(empty.baseAddress!)
                let values: [UnsafePointer<CChar>?] = (0..<types.count).map { index in
                    guard lengths[index] >= 0 else { return nil }
                    guard lengths[index] > 0, let base = buffer.baseAddress else { return emptyAddress }
                    return UnsafeRawPointer(base + offsets[index]).assumingMemoryBound(to: CChar.self)
                }
                return try body(Int32(types.count), types, values, lengths, formats)
            }
        }
    }
}
