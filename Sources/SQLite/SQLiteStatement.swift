import CSQLite

/// A compiled statement. `step()` advances to the next row; the column readers read the current
/// one. Finalized when released.
public final class SQLiteStatement {
    let database: SQLiteDatabase
    let handle: OpaquePointer

    init(database: SQLiteDatabase, handle: OpaquePointer) {
        self.database = database
        self.handle = handle
    }

    deinit { sqlite3_finalize(handle) }

    /// Binds text to parameter `index` (1-based).
    public func bind(_ index: Int32, text: String) throws(SQLiteError) {
        // SQLITE_TRANSIENT: SQLite copies the text before the Swift string's buffer goes away.
        let code = sqlite3_bind_text(handle, index, text, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        guard code == SQLITE_OK else { throw database.error(code) }
    }

    /// Moves to the next row: true when there is one, false when the rows are done.
    public func step() throws(SQLiteError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw database.error(code)
        }
    }

    /// True when column `index` (0-based) of the current row is NULL.
    public func isNull(_ index: Int32) -> Bool { sqlite3_column_type(handle, index) == SQLITE_NULL }

    /// The column's raw bytes (text as stored, a blob as is), nil for NULL. The bytes are not
    /// checked to be UTF-8: callers that must be faithful check them themselves.
    public func bytes(_ index: Int32) -> [UInt8]? {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_NULL: return nil
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard count > 0, let pointer = sqlite3_column_blob(handle, index) else { return [] }
            return Array(UnsafeRawBufferPointer(start: pointer, count: count))
        default:
            // Numbers come back as their text; text as its bytes, whatever they are.
            guard let pointer = sqlite3_column_text(handle, index) else { return [] }
            let count = Int(sqlite3_column_bytes(handle, index))
            return Array(UnsafeBufferPointer(start: pointer, count: count))
        }
    }

    /// The column as text with invalid UTF-8 repaired (for ids and labels of reports only), nil for NULL.
    public func text(_ index: Int32) -> String? {
        bytes(index).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The column as an integer when it holds one (an integer, or text or a real that is a whole
    /// number); nil for NULL or anything else.
    public func integer(_ index: Int32) -> Int64? {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return sqlite3_column_int64(handle, index)
        case SQLITE_FLOAT:
            let value = sqlite3_column_double(handle, index)
            return value.rounded() == value && abs(value) < 9e15 ? Int64(value) : nil
        case SQLITE_TEXT: return text(index).flatMap { Int64($0) }
        default: return nil
        }
    }

    /// The column as a number when it holds one; nil for NULL or anything else.
    public func double(_ index: Int32) -> Double? {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER, SQLITE_FLOAT: return sqlite3_column_double(handle, index)
        case SQLITE_TEXT: return text(index).flatMap { Double($0) }
        default: return nil
        }
    }
}
