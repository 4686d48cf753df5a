import CSQLite

/// A SQLite database opened read-only: importers read other applications' files and must never
/// change them. One connection, used by one task at a time.
public final class SQLiteDatabase {
    let handle: OpaquePointer

    /// Opens `path` read-only (no journal is created, nothing is written); a missing file or one
    /// that is not a SQLite database throws.
    public init(readOnly path: String) throws(SQLiteError) {
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(handle)
            throw SQLiteError(code: code, message: "\(path): \(message)")
        }
        self.handle = handle
        // Opening is lazy: read the schema now so that "not a database" is reported here.
        _ = try prepare("SELECT count(*) FROM sqlite_master").step()
    }

    deinit { sqlite3_close_v2(handle) }

    /// Compiles one statement; its rows are read with `SQLiteStatement.step()`.
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard code == SQLITE_OK, let statement else { throw error(code) }
        return SQLiteStatement(database: self, handle: statement)
    }

    /// True if the database has a table named `name`.
    public func hasTable(_ name: String) throws(SQLiteError) -> Bool {
        let statement = try prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")
        try statement.bind(1, text: name)
        return try statement.step()
    }

    /// The names of `table`'s columns, in order.
    public func columns(of table: String) throws(SQLiteError) -> [String] {
        let statement = try prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
        try statement.bind(1, text: table)
        var names: [String] = []
        while try statement.step() { names.append(statement.text(0) ?? "") }
        return names
    }

    func error(_ code: Int32) -> SQLiteError {
        SQLiteError(code: code, message: String(cString: sqlite3_errmsg(handle)))
    }
}

/// A failure reported by SQLite: its result code and message.
public struct SQLiteError: Error, CustomStringConvertible {
    public let code: Int32
    public let message: String

    public var description: String { "SQLite error \(code): \(message)" }
}
