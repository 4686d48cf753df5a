/// The vocabulary: token byte strings by rank, and an open-addressing hash table from byte
/// string to rank. One contiguous arena holds every token's bytes in rank order, so the table
/// needs no per-token allocation and a lookup touches two cache lines in the common case.
///
/// Immutable after `init`; the memory lives as long as the table (the shared tokenizers keep
/// theirs for the life of the process).
final class RankTable: @unchecked Sendable {
    /// The bytes of every token, concatenated in rank order.
    let arena: UnsafeMutablePointer<UInt8>
    /// `offsets[rank] ..< offsets[rank + 1]` is the token's range in `arena`.
    let offsets: UnsafeMutablePointer<UInt32>
    /// Slots: 0 when empty, else the upper 32 bits of the key's hash and `rank + 1`.
    let slots: UnsafeMutablePointer<UInt64>
    let mask: Int
    let count: Int
    /// The rank of each single byte (every byte is a token in these vocabularies).
    let byteRanks: UnsafeMutablePointer<UInt32>
    /// The rank of each two-byte string, indexed by `first << 8 | second` (256 KiB): the first
    /// lookups of every merge, without hashing or a probe into the large table.
    let pairRanks: UnsafeMutablePointer<UInt32>

    static let absent = UInt32.max

    /// The rank of the first token whose bytes equal an earlier token's, if any (the loader
    /// reports it as a malformed line; the table keeps the lower rank).
    let firstDuplicate: Int?

    /// Builds the table; rank `i` is `arenaBytes[offsets[i] ..< offsets[i + 1]]`.
    init(arenaBytes: [UInt8], offsets offsetList: [UInt32]) {
        let count = offsetList.count - 1
        let arena = UnsafeMutablePointer<UInt8>.allocate(capacity: max(arenaBytes.count, 1))
        arenaBytes.withUnsafeBufferPointer { arena.initialize(from: $0.baseAddress!, count: $0.count) }
        let offsets = UnsafeMutablePointer<UInt32>.allocate(capacity: offsetList.count)
        offsetList.withUnsafeBufferPointer { offsets.initialize(from: $0.baseAddress!, count: $0.count) }
        var capacity = 16
        while capacity < count * 2 { capacity <<= 1 }  // load factor at most 1/2
        let mask = capacity - 1
        let slots = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        slots.initialize(repeating: 0, count: capacity)
        let byteRanks = UnsafeMutablePointer<UInt32>.allocate(capacity: 256)
        byteRanks.initialize(repeating: RankTable.absent, count: 256)
        let pairRanks = UnsafeMutablePointer<UInt32>.allocate(capacity: 65536)
        pairRanks.initialize(repeating: RankTable.absent, count: 65536)
        var firstDuplicate: Int? = nil
        for rank in 0..<count {
            let start = Int(offsets[rank])
            let length = Int(offsets[rank + 1]) - start
            let hash = RankTable.hash(arena + start, length)
            var index = Int(truncatingIfNeeded: hash) & mask
            var duplicate = false
            while slots[index] != 0 {
                let existing = Int(truncatingIfNeeded: slots[index] & 0xFFFF_FFFF) - 1
                if RankTable.equal(arena + start, length, existing, arena, offsets) {
                    duplicate = true
                    break
                }
                index = (index + 1) & mask
            }
            if duplicate {
                if firstDuplicate == nil { firstDuplicate = rank }
                continue
            }
            slots[index] = (hash & 0xFFFF_FFFF_0000_0000) | UInt64(rank + 1)
            if length == 1 { byteRanks[Int(arena[start])] = UInt32(rank) }
            if length == 2 { pairRanks[Int(arena[start]) << 8 | Int(arena[start + 1])] = UInt32(rank) }
        }
        self.count = count
        self.arena = arena
        self.offsets = offsets
        self.mask = mask
        self.slots = slots
        self.byteRanks = byteRanks
        self.pairRanks = pairRanks
        self.firstDuplicate = firstDuplicate
    }

    deinit {
        arena.deallocate()
        offsets.deallocate()
        slots.deallocate()
        byteRanks.deallocate()
        pairRanks.deallocate()
    }

    @inline(__always)
    static func equal(
        _ key: UnsafePointer<UInt8>, _ length: Int, _ rank: Int,
        _ arena: UnsafeMutablePointer<UInt8>, _ offsets: UnsafeMutablePointer<UInt32>
    ) -> Bool {
        let start = Int(offsets[rank])
        guard Int(offsets[rank + 1]) - start == length else { return false }
        let other = arena + start
        var i = 0
        while i + 8 <= length {
            let a = UnsafeRawPointer(key).loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let b = UnsafeRawPointer(other).loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if a != b { return false }
            i += 8
        }
        while i < length {
            if key[i] != other[i] { return false }
            i += 1
        }
        return true
    }

    /// A 64-bit hash of a byte string: eight bytes at a time, multiply-xorshift mixed.
    @inline(__always)
    static func hash(_ key: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        var h = UInt64(truncatingIfNeeded: length) &* 0x9E37_79B9_7F4A_7C15
        var i = 0
        let raw = UnsafeRawPointer(key)
        while i + 8 <= length {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        if i < length {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < length {
                tail |= UInt64(key[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ tail) &* 0xFF51_AFD7_ED55_8CCD
        }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return h
    }

    /// The rank of the byte string, or `absent`.
    @inline(__always)
    func rank(of key: UnsafePointer<UInt8>, _ length: Int) -> UInt32 {
        if length <= 2 {
            return length == 1 ? byteRanks[Int(key[0])] : pairRanks[Int(key[0]) << 8 | Int(key[1])]
        }
        let hash = RankTable.hash(key, length)
        let tag = hash & 0xFFFF_FFFF_0000_0000
        var index = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[index]
            if slot == 0 { return RankTable.absent }
            if slot & 0xFFFF_FFFF_0000_0000 == tag {
                let rank = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
                if RankTable.equal(key, length, rank, arena, offsets) { return UInt32(rank) }
            }
            index = (index + 1) & mask
        }
    }

    /// The bytes of a token.
    func bytes(of rank: Int) -> UnsafeBufferPointer<UInt8> {
        let start = Int(offsets[rank])
        return UnsafeBufferPointer(start: arena + start, count: Int(offsets[rank + 1]) - start)
    }
}
