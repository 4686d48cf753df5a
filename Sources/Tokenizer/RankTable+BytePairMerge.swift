// tiktoken's byte-pair merge of one piece: start from single bytes, repeatedly merge the adjacent
// pair whose concatenated bytes have the lowest rank (the leftmost such pair on ties), until no
// adjacent pair is a token. Short pieces use tiktoken's own array scan (quadratic, but pieces are
// usually a few bytes and it stays in cache); long ones a linked list with a min-heap keyed by
// (rank, position), which picks the same pair each step in O(n log n) overall.

/// Pieces up to this many bytes use the array scan.
let shortPieceLimit = 128

extension RankTable {
    /// Appends the tokens of `piece` (not itself a token; at least 2 bytes) to `sink`.
    @inline(__always)
    func bytePairEncode<Sink: TokenSink>(
        _ piece: UnsafePointer<UInt8>, _ length: Int, _ scratch: inout MergeScratch, _ sink: inout Sink
    ) {
        scratch.reserve(length)
        if length <= shortPieceLimit {
            mergeShort(piece, length, scratch.starts, scratch.pairRanks, scratch.tokenRanks, &sink)
        } else {
            mergeLong(piece, length, scratch, &sink)
        }
    }

    /// tiktoken's `_byte_pair_merge`, with each part's token rank kept as it merges.
    @inline(__always)
    func mergeShort<Sink: TokenSink>(
        _ piece: UnsafePointer<UInt8>, _ length: Int,
        _ starts: UnsafeMutablePointer<Int>, _ pairRanks: UnsafeMutablePointer<UInt32>,
        _ tokenRanks: UnsafeMutablePointer<UInt32>, _ sink: inout Sink
    ) {
        var minRank = RankTable.absent
        var minIndex = 0
        for i in 0..<(length - 1) {
            let rank = self.pairRanks[Int(piece[i]) << 8 | Int(piece[i + 1])]
            if rank < minRank {
                minRank = rank
                minIndex = i
            }
            starts[i] = i
            pairRanks[i] = rank
            tokenRanks[i] = byteRanks[Int(piece[i])]
        }
        starts[length - 1] = length - 1
        pairRanks[length - 1] = RankTable.absent
        tokenRanks[length - 1] = byteRanks[Int(piece[length - 1])]
        starts[length] = length
        pairRanks[length] = RankTable.absent
        var parts = length + 1

        while minRank != RankTable.absent {
            let i = minIndex
            tokenRanks[i] = minRank
            // The rank of the pair at `j` once parts i and i + 1 are one: parts[j] ..< parts[j + 3]
            // while part i + 1 is still in the array.
            if i > 0 {
                pairRanks[i - 1] =
                    i + 2 < parts
                    ? self.rank(of: piece + starts[i - 1], starts[i + 2] - starts[i - 1]) : RankTable.absent
            }
            pairRanks[i] =
                i + 3 < parts ? self.rank(of: piece + starts[i], starts[i + 3] - starts[i]) : RankTable.absent
            // Remove part i + 1.
            var j = i + 1
            while j < parts - 1 {
                starts[j] = starts[j + 1]
                pairRanks[j] = pairRanks[j + 1]
                tokenRanks[j] = tokenRanks[j + 1]
                j += 1
            }
            parts -= 1
            minRank = RankTable.absent
            for k in 0..<(parts - 1) where pairRanks[k] < minRank {
                minRank = pairRanks[k]
                minIndex = k
            }
        }
        for k in 0..<(parts - 1) { sink.append(tokenRanks[k]) }
    }

    /// The same merge order with a doubly linked list of parts (indexed by byte position) and
    /// a lazy min-heap of candidate pairs: O(n log n) for pieces of any length.
    func mergeLong<Sink: TokenSink>(
        _ piece: UnsafePointer<UInt8>, _ length: Int, _ scratch: borrowing MergeScratch, _ sink: inout Sink
    ) {
        let next = scratch.starts
        let previous = scratch.previous
        let pairRanks = scratch.pairRanks
        let tokenRanks = scratch.tokenRanks
        let heap = scratch.heap
        var heapCount = 0

        @inline(__always) func push(_ value: UInt64) {
            var i = heapCount
            heapCount += 1
            while i > 0 {
                let parent = (i - 1) >> 1
                if heap[parent] <= value { break }
                heap[i] = heap[parent]
                i = parent
            }
            heap[i] = value
        }
        @inline(__always) func pop() -> UInt64 {
            let top = heap[0]
            heapCount -= 1
            let last = heap[heapCount]
            var i = 0
            while true {
                var child = 2 * i + 1
                if child >= heapCount { break }
                if child + 1 < heapCount && heap[child + 1] < heap[child] { child += 1 }
                if heap[child] >= last { break }
                heap[i] = heap[child]
                i = child
            }
            heap[i] = last
            return top
        }

        for i in 0..<length {
            next[i] = i + 1
            previous[i] = i - 1
            tokenRanks[i] = byteRanks[Int(piece[i])]
            let rank = i + 1 < length ? self.pairRanks[Int(piece[i]) << 8 | Int(piece[i + 1])] : RankTable.absent
            pairRanks[i] = rank
            if rank != RankTable.absent { push(UInt64(rank) << 32 | UInt64(i)) }
        }
        while heapCount > 0 {
            let top = pop()
            let position = Int(top & 0xFFFF_FFFF)
            let rank = UInt32(truncatingIfNeeded: top >> 32)
            // Stale entries: the part was merged away (its pair rank is then `absent`) or its pair
            // changed since (a pair only ever grows, so its rank differs).
            guard pairRanks[position] == rank else { continue }
            let removed = next[position]
            pairRanks[removed] = RankTable.absent
            tokenRanks[position] = rank
            let after = next[removed]
            next[position] = after
            if after < length {
                previous[after] = position
                let end = next[after]
                let newRank = self.rank(of: piece + position, end - position)
                pairRanks[position] = newRank
                if newRank != RankTable.absent { push(UInt64(newRank) << 32 | UInt64(position)) }
            } else {
                pairRanks[position] = RankTable.absent
            }
            let before = previous[position]
            if before >= 0 {
                let newRank = self.rank(of: piece + before, after - before)
                pairRanks[before] = newRank
                if newRank != RankTable.absent { push(UInt64(newRank) << 32 | UInt64(before)) }
            }
        }
        var i = 0
        while i < length {
            sink.append(tokenRanks[i])
            i = next[i]
        }
    }
}
