import CLibPQ

/// The rows of one statement's result, copied out of libpq's memory.
///
/// The whole result lives in one byte buffer, so a 50-row page is two allocations, not 50×columns.
public struct PostgresRows: Sendable, RandomAccessCollection {
    /// A column's name and type.
    public struct Column: Sendable, Hashable {
        public var name: String
        public var type: PostgresDataType
    }

    final class Storage: Sendable {
        let columns: [Column]
        let bytes: [UInt8]
        let offsets: [Int]
        let lengths: [Int32]

        init(columns: [Column], bytes: [UInt8], offsets: [Int], lengths: [Int32]) {
            self.columns = columns
            self.bytes = bytes
            self.offsets = offsets
            self.lengths = lengths
        }
    }

    let storage: Storage
    public let count: Int
    /// Rows inserted, updated, deleted, copied or selected, from the command tag.
    public let affectedRows: Int
    /// The command tag's first word: `INSERT`, `UPDATE`, `SELECT`, ….
    public let command: String

    public var columns: [Column] { storage.columns }
    public var startIndex: Int { 0 }
    public var endIndex: Int { count }
    public subscript(position: Int) -> PostgresRow { PostgresRow(storage: storage, index: position) }

    /// Copies a `PGresult` (binary format) into Swift memory. The caller still clears it.
    init(copying result: OpaquePointer) {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { column in
            Column(
                name: String(cString: PQfname(result, Int32(column))),
                type: PostgresDataType(rawValue: PQftype(result, Int32(column))))
        }
        var offsets: [Int] = []
        var lengths: [Int32] = []
        offsets.reserveCapacity(rowCount * columnCount)
        lengths.reserveCapacity(rowCount * columnCount)
        var total = 0
        for row in 0..<Int32(rowCount) {
            for column in 0..<Int32(columnCount) {
                let isNull = PQgetisnull(result, row, column) == 1
                let length = isNull ? -1 : PQgetlength(result, row, column)
                offsets.append(total)
                lengths.append(length)
                total += Int(Swift.max(length, 0))
            }
        }
        let bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            var index = 0
            for row in 0..<Int32(rowCount) {
                for column in 0..<Int32(columnCount) {
                    let length = Int(lengths[index])
                    if length > 0, let value = PQgetvalue(result, row, column) {
                        UnsafeMutableRawPointer(buffer.baseAddress! + offsets[index])
                            .copyMemory(from: value, byteCount: length)
                    }
                    index += 1
                }
            }
            initialized = total
        }
        storage = Storage(columns: columns, bytes: bytes, offsets: offsets, lengths: lengths)
        count = rowCount
        affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
        command = String(cString: PQcmdStatus(result)).split(separator: " ").first.map(String.init) ?? ""
    }
}

/// One row of a result.
public struct PostgresRow: Sendable {
    let storage: PostgresRows.Storage
    let index: Int

    /// Decodes the column at `column` (zero-based).
    public func decode<Value: PostgresDecodable>(_ column: Int, as type: Value.Type = Value.self) throws -> Value {
        let columns = storage.columns
        guard column >= 0, column < columns.count else {
            throw PostgresError.decoding(column: "#\(column)", "no such column")
        }
        let cell = index * columns.count + column
        let length = Int(storage.lengths[cell])
        do {
            if length < 0 { return try Value.decodeNull() }
            let start = storage.offsets[cell]
            return try storage.bytes.withUnsafeBytes { bytes in
                try Value.decode(
                    from: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)]), type: columns[column].type)
            }
        } catch let failure as PostgresDecodingFailure {
            throw PostgresError.decoding(column: columns[column].name, failure.reason)
        }
    }

    /// Decodes the column named `name`.
    public func decode<Value: PostgresDecodable>(_ name: String, as type: Value.Type = Value.self) throws -> Value {
        guard let column = storage.columns.firstIndex(where: { $0.name == name }) else {
            throw PostgresError.decoding(column: name, "no such column")
        }
        return try decode(column, as: type)
    }

    /// Decodes the leading columns as a tuple: `let (id, title) = try row.decode((UUID, String).self)`.
    public func decode<each Value: PostgresDecodable>(_ types: (repeat each Value).Type) throws -> (repeat each Value) {
        try decode(types, from: 0)
    }

    /// Decodes the columns from `first` on as a tuple.
    public func decode<each Value: PostgresDecodable>(_ types: (repeat each Value).Type, from first: Int) throws
        -> (repeat each Value)
    {
        var column = first
        func next<Next: PostgresDecodable>(_: Next.Type) throws -> Next {
            defer { column += 1 }
            return try decode(column, as: Next.self)
        }
        return (repeat try next((each Value).self))
    }

    /// True when the column is SQL NULL.
    public func isNull(_ column: Int) -> Bool {
        storage.lengths[index * storage.columns.count + column] < 0
    }
}
