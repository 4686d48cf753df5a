import Crypto
import FoundationEssentials

/// Name-based UUIDs (version 5, SHA-1, RFC 9562 §5.5) of source rows: the same source row gets the
/// same id on every run, which is what makes a second import add nothing.
public enum DeterministicID {
    /// ResearchStore's namespace for imported rows (itself a random v4 UUID, fixed forever).
    public static let namespace = UUID(uuidString: "6f0e5e0c-4c1b-4d7e-9a55-3b2f6f3f8e21")!

    /// The id of `sourceID` of `table` in `format`: UUIDv5 over "FORMAT:table:sourceID".
    public static func make(format: String, table: String, sourceID: String) -> UUID {
        uuid5(name: "\(format):\(table):\(sourceID)")
    }

    /// A negative bigint for tables whose ids are identities (analytics events): from the same
    /// UUIDv5, below zero so that it never meets a value the identity hands out.
    public static func negativeInteger(format: String, table: String, sourceID: String) -> Int64 {
        let bytes = make(format: format, table: table, sourceID: sourceID).uuid
        let high = withUnsafeBytes(of: bytes) { $0.loadUnaligned(as: UInt64.self) }
        return -Int64(high & UInt64(Int64.max)) - 1
    }

    static func uuid5(name: String) -> UUID {
        var hasher = Insecure.SHA1()
        withUnsafeBytes(of: namespace.uuid) { hasher.update(bufferPointer: $0) }
        hasher.update(data: Array(name.utf8))
        var bytes = Array(hasher.finalize().prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9],
                bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}
