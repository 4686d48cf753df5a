import CLibPQ

extension PostgresConnection {
    /// Bulk-loads rows with `COPY table (columns) FROM STDIN` (text format).
    ///
    /// `writeRows` streams rows through the writer, which sends them in 64 KiB chunks and waits
    /// whenever the socket is full, so memory stays flat however many rows there are. If it
    /// throws, or the task is cancelled, the COPY is aborted and nothing is inserted. Returns the
    /// number of rows PostgreSQL copied (outside a transaction, committed).
    public func copyFrom(
        table: String, columns: [String], writeRows: @escaping @Sendable (PostgresCopyWriter) async throws -> Void
    ) async throws -> Int {
        let columnList = columns.map(PostgresQuery.quoteIdentifier).joined(separator: ", ")
        let statement = "COPY \(PostgresQuery.quoteIdentifier(table)) (\(columnList)) FROM STDIN"
        return try await exclusively("copyFrom") {
            try await runCancellable { try await self.copy(statement: statement, writeRows: writeRows) }
        }
    }

    private func copy(statement: String, writeRows: (PostgresCopyWriter) async throws -> Void) async throws -> Int {
        let handle = try liveHandle()
        if beginPending {  // statements queued to follow wait for the next round trip
            beginPending = false
            _ = try await consume(try await exec(handle) { PQsendQuery(handle, "BEGIN") }, handle: handle)
        }
        guard let start = try await exec(handle, { PQsendQuery(handle, statement) }) else { throw connectionError(handle) }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            defer { PQclear(start) }
            throw error(from: start, handle: handle)
        }
        PQclear(start)

        let writer = PostgresCopyWriter { [self] chunk in
            if isCancellationRequested { throw CancellationError() }
            try await putCopy(handle) {
                chunk.withUnsafeBufferPointer { buffer in
                    PQputCopyData(handle, UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(buffer.count))
                }
            }
        }
        var failure: (any Error)?
        do {
            try await writeRows(writer)
            try await writer.flush()
        } catch {
            failure = error
        }
        try await putCopy(handle) { PQputCopyEnd(handle, failure == nil ? nil : "aborted by the client") }
        var copied = 0
        var serverError: PostgresError?
        while let result = try await nextResult(handle) {
            defer { PQclear(result) }
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                copied = Int(String(cString: PQcmdTuples(result))) ?? 0
            } else {
                serverError = error(from: result, handle: handle)
            }
        }
        if let failure { throw failure }
        if var serverError {
            if serverError.code == .server { serverError.code = .copyFailed }
            throw serverError
        }
        return copied
    }
}

/// Streams rows in COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
public final class PostgresCopyWriter {
    private var buffer: [UInt8] = []
    private let send: ([UInt8]) async throws -> Void
    static let chunkSize = 64 * 1024

    init(send: @escaping ([UInt8]) async throws -> Void) {
        self.send = send
        buffer.reserveCapacity(Self.chunkSize + 4096)
    }

    /// Appends one row; `nil` is SQL NULL. Values are text as PostgreSQL would read them
    /// (`uuid`, ISO 8601 timestamps, JSON text, numbers).
    /// Suspends while a full chunk waits for room in the socket.
    public func appendRow(_ fields: [String?]) async throws {
        Self.encode(fields, into: &buffer)
        if buffer.count >= Self.chunkSize { try await flush() }
    }

    /// One exclusive access to the buffer per row, and whole fields appended at once when they
    /// need no escaping (the common case).
    private static func encode(_ fields: [String?], into buffer: inout [UInt8]) {
        for (index, field) in fields.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: "\t")) }
            guard let field else {
                buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
                continue
            }
            let utf8 = field.utf8
            guard utf8.contains(where: needsEscape) else {
                buffer.append(contentsOf: utf8)
                continue
            }
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                default: buffer.append(byte)
                }
            }
        }
        buffer.append(UInt8(ascii: "\n"))
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\t")
    }

    func flush() async throws {
        guard !buffer.isEmpty else { return }
        try await send(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}
