#if canImport(Glibc)
import CLibPQ
import Foundation
import Postgres

/// `InsertOperation` on the event-loop engine: the same statement and parameters, prepared.
struct EventLoopInsertOperation: BenchOperation {
    let payload: String

    func run(on engine: EventLoopEngine, random: inout SplitMix64) async throws -> OperationOutcome {
        let n = Int32.random(in: 1...BenchSchema.maximumN, using: &random)
        var parameters = BinaryParameters(byteCapacity: payload.utf8.count + 4)
        parameters.append(payload)
        parameters.append(n)
        let rows = try await engine.execute(.insert, parameters) { result in
            Int(String(cString: PQcmdTuples(result))) ?? 0
        }
        return OperationOutcome(rows: rows, checksum: 0)
    }
}

/// `SelectOperation` on the event-loop engine: the same 50-row page, every column of every row
/// decoded with the wrapper's own binary decoders (straight from libpq's memory; the wrapper
/// first copies the result into `PostgresRows`).
struct EventLoopSelectOperation: BenchOperation {
    let starts: ClosedRange<Int64>

    func run(on engine: EventLoopEngine, random: inout SplitMix64) async throws -> OperationOutcome {
        var parameters = BinaryParameters(byteCapacity: 8)
        parameters.append(Int64.random(in: starts, using: &random))
        return try await engine.execute(.select, parameters) { result in
            guard PQnfields(result) == 4 else { throw BenchFailure("bench_select returned \(PQnfields(result)) columns") }
            let types = (0..<Int32(4)).map { PostgresDataType(rawValue: PQftype(result, $0)) }
            let rows = PQntuples(result)
            var checksum = 0
            for row in 0..<rows {
                let id = try cell(result, row, 0, types[0], as: Int64.self)
                let payload = try cell(result, row, 1, types[1], as: String.self)
                let n = try cell(result, row, 2, types[2], as: Int32.self)
                let createdAt = try cell(result, row, 3, types[3], as: Date.self)
                checksum &+= Int(truncatingIfNeeded: id) &+ payload.utf8.count &+ Int(n)
                    &+ Int(createdAt.timeIntervalSince1970)
            }
            return OperationOutcome(rows: Int(rows), checksum: checksum)
        }
    }

    /// Decodes one binary-format cell of `result`.
    @inline(__always)
    private func cell<Value: PostgresDecodable>(
        _ result: OpaquePointer, _ row: Int32, _ column: Int32, _ type: PostgresDataType, as _: Value.Type
    ) throws -> Value {
        if PQgetisnull(result, row, column) == 1 { return try Value.decodeNull() }
        let bytes = UnsafeRawBufferPointer(
            start: PQgetvalue(result, row, column), count: Int(PQgetlength(result, row, column)))
        return try Value.decode(from: bytes, type: type)
    }
}
#endif
