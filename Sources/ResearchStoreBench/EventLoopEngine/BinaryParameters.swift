/// Bind parameters in PostgreSQL's binary format, in one buffer, encoded per statement as the
/// wrapper's `PostgresBindings` does.
struct BinaryParameters: Sendable {
    private var bytes: [UInt8] = []
    private var lengths: [Int32] = []

    init(byteCapacity: Int) {
        bytes.reserveCapacity(byteCapacity)
        lengths.reserveCapacity(2)
    }

    mutating func append(_ value: Int32) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
        lengths.append(4)
    }

    mutating func append(_ value: Int64) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
        lengths.append(8)
    }

    /// A text value: its binary format is its UTF-8 bytes.
    mutating func append(_ value: String) {
        let before = bytes.count
        bytes.append(contentsOf: value.utf8)
        lengths.append(Int32(bytes.count - before))
    }

    /// Calls `body` with the count and the C arrays `PQsendQueryPrepared` takes (all formats binary).
    func withCArrays<R>(
        _ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<Int32>, UnsafePointer<Int32>) -> R
    ) -> R {
        let count = lengths.count
        return bytes.withUnsafeBytes { buffer in
            lengths.withUnsafeBufferPointer { lengths in
                withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: count) { values in
                    withUnsafeTemporaryAllocation(of: Int32.self, capacity: count) { formats in
                        var offset = 0
                        for index in 0..<count {
                            values[index] = UnsafePointer(
                                (buffer.baseAddress! + offset).assumingMemoryBound(to: CChar.self))
                            formats[index] = 1
                            offset += Int(lengths[index])
                        }
                        return body(
                            Int32(count), UnsafePointer(values.baseAddress!), lengths.baseAddress!,
                            UnsafePointer(formats.baseAddress!))
                    }
                }
            }
        }
    }
}
