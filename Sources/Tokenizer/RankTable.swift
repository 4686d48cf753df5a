/// The vocabulary: token byte strings by rank, and lookups from byte string to rank. One
/// contiguous arena holds every token's bytes in rank order. Lookups go by length: one and two
/// bytes index arrays directly; three to eight bytes probe an open-addressing table holding the
/// key itself, packed in a word, so that a hit or miss costs one cache line; longer strings probe
/// a table of hash tags and ranks and compare against the arena.
///
/// Immutable after `init`; the memory lives as long as the table (the shared tokenizers keep
/// theirs for the life of the process).
final class RankTable: @unchecked Sendable {
    /// The bytes of every token, concatenated in rank order.
    let arena: UnsafeMutablePointer<UInt8>
    /// `offsets[rank] ..< offsets[rank + 1]` is the token's range in `arena`.
    let offsets: UnsafeMutablePointer<UInt32>
    let count: Int
    /// The rank of each single byte (every byte is a token in these vocabularies).
    let byteRanks: UnsafeMutablePointer<UInt32>
    /// The rank of each two-byte string, indexed by `first << 8 | second` (256 KiB).
    let pairRanks: UnsafeMutablePointer<UInt32>
    /// Keys of 3 ... 8 bytes: two words per slot, the key (`shortKey`) and `rank | length << 32`
    /// (0 when the slot is empty).
    let shortSlots: UnsafeMutablePointer<UInt64>
    let shortShift: UInt64
    let shortMask: Int
    /// Keys of 9 bytes or more: 0 when empty, else the upper 32 bits of the key's hash and
    /// `rank + 1`.
    let slots: UnsafeMutablePointer<UInt64>
    let mask: Int

    static let absent = UInt32.max
    static let shortLimit = 8

    /// The rank of the first token whose bytes equal an earlier token's, if any (the loader
    /// reports it as a malformed line; the table keeps the lower rank).
    let firstDuplicate: Int?

    /// Builds the table and takes ownership of `arena` and `offsets` (from `allocate`): rank `i`
    /// is `arena[offsets[i] ..< offsets[i + 1]]`, for `i` in `0 ..< count`.
    init(arena: UnsafeMutablePointer<UInt8>, offsets: UnsafeMutablePointer<UInt32>, count: Int) {
        var shortCount = 0
        var longCount = 0
        for rank in 0..<count {
            let length = Int(offsets[rank + 1] - offsets[rank])
            if length > RankTable.shortLimit { longCount += 1 } else if length > 2 { shortCount += 1 }
        }
        // Load factors at most 2/3 (o200k_base: 0.55 in 4 MiB) and 1/2 (0.39 in 1 MiB).
        var shortBits: UInt64 = 4
        while 1 << shortBits < shortCount + shortCount / 2 { shortBits += 1 }
        let shortMask = (1 << Int(shortBits)) - 1
        let shortSlots = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 << shortBits)
        shortSlots.initialize(repeating: 0, count: 2 << shortBits)
        var capacity = 16
        while capacity < longCount * 2 { capacity <<= 1 }
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
            let key = arena + start
            var duplicate = false
            switch length {
            case 0:
                duplicate = true  // an empty token can never be looked up; treat it as a repeat
            case 1:
                duplicate = byteRanks[Int(key[0])] != RankTable.absent
                if !duplicate { byteRanks[Int(key[0])] = UInt32(rank) }
            case 2:
                let index = Int(key[0]) << 8 | Int(key[1])
                duplicate = pairRanks[index] != RankTable.absent
                if !duplicate { pairRanks[index] = UInt32(rank) }
            case 3...RankTable.shortLimit:
                let word = RankTable.shortKey(key, length)
                var index = RankTable.shortIndex(word, shortShift: 64 - shortBits)
                while shortSlots[2 * index + 1] != 0 {
                    if shortSlots[2 * index] == word && shortSlots[2 * index + 1] >> 32 == UInt64(length) {
                        duplicate = true
                        break
                    }
                    index = (index + 1) & shortMask
                }
                if !duplicate {
                    shortSlots[2 * index] = word
                    shortSlots[2 * index + 1] = UInt64(rank) | UInt64(length) << 32
                }
            default:
                let hash = RankTable.hash(key, length)
                var index = Int(truncatingIfNeeded: hash) & mask
                while slots[index] != 0 {
                    let existing = Int(truncatingIfNeeded: slots[index] & 0xFFFF_FFFF) - 1
                    if RankTable.equal(key, length, existing, arena, offsets) {
                        duplicate = true
                        break
                    }
                    index = (index + 1) & mask
                }
                if !duplicate { slots[index] = (hash & 0xFFFF_FFFF_0000_0000) | UInt64(rank + 1) }
            }
            if duplicate && firstDuplicate == nil { firstDuplicate = rank }
        }
        self.count = count
        self.arena = arena
        self.offsets = offsets
        self.shortSlots = shortSlots
        self.shortShift = 64 - shortBits
        self.shortMask = shortMask
        self.mask = mask
        self.slots = slots
        self.byteRanks = byteRanks
        self.pairRanks = pairRanks
        self.firstDuplicate = firstDuplicate
    }

    deinit {
        arena.deallocate()
        offsets.deallocate()
        shortSlots.deallocate()
        slots.deallocate()
        byteRanks.deallocate()
        pairRanks.deallocate()
    }

    /// A key of 3 ... 8 bytes as one word, byte `i` in bits `8i ..< 8i + 8` (two overlapping
    /// four-byte loads, never reading outside the key). With the length, it identifies the key.
    @inline(__always)
    static func shortKey(_ key: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        let raw = UnsafeRawPointer(key)
        if length >= 4 {
            let low = UInt64(UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)))
            let high = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: length - 4, as: UInt32.self)))
            return low | high << UInt64(8 * (length - 4))
        }
        return UInt64(key[0]) | UInt64(key[1]) << 8 | UInt64(key[2]) << 16
    }

    /// Fibonacci hashing: the top bits of the key times 2^64 / φ.
    @inline(__always)
    static func shortIndex(_ word: UInt64, shortShift: UInt64) -> Int {
        Int(truncatingIfNeeded: (word &* 0x9E37_79B9_7F4A_7C15) >> shortShift)
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
        if length <= RankTable.shortLimit {
            let word = RankTable.shortKey(key, length)
            var index = RankTable.shortIndex(word, shortShift: shortShift)
            while true {
                let meta = shortSlots[2 * index + 1]
                if meta == 0 { return RankTable.absent }
                if shortSlots[2 * index] == word && meta >> 32 == UInt64(length) {
                    return UInt32(truncatingIfNeeded: meta)
                }
                index = (index + 1) & shortMask
            }
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
