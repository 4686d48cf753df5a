/// Reusable working memory for merging, grown on demand; one per `encode` call.
struct MergeScratch: ~Copyable {
    private(set) var capacity = 0
    /// Short pieces: part starts. Long pieces: the next part's start, by byte position.
    var starts: UnsafeMutablePointer<Int> = UnsafeMutablePointer(bitPattern: 8)!
    /// Short pieces: rank of the pair starting at each part. Long: the same, by byte position.
    var pairRanks: UnsafeMutablePointer<UInt32> = UnsafeMutablePointer(bitPattern: 8)!
    /// The rank of the token each part is so far.
    var tokenRanks: UnsafeMutablePointer<UInt32> = UnsafeMutablePointer(bitPattern: 8)!
    /// Long pieces only: the previous part's start (-1 for none).
    var previous: UnsafeMutablePointer<Int> = UnsafeMutablePointer(bitPattern: 8)!
    /// Long pieces only: the heap of (rank << 32 | position).
    var heap: UnsafeMutablePointer<UInt64> = UnsafeMutablePointer(bitPattern: 8)!

    mutating func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        free()
        capacity = max(needed, 256)
        starts = .allocate(capacity: capacity + 1)
        pairRanks = .allocate(capacity: capacity + 1)
        tokenRanks = .allocate(capacity: capacity + 1)
        previous = .allocate(capacity: capacity + 1)
        heap = .allocate(capacity: 3 * capacity + 4)
    }

    private func free() {
        guard capacity > 0 else { return }
        starts.deallocate()
        pairRanks.deallocate()
        tokenRanks.deallocate()
        previous.deallocate()
        heap.deallocate()
    }

    deinit { free() }
}
