/// Receives the ranks of a text's tokens in order.
protocol TokenSink {
    mutating func append(_ rank: UInt32)
}

struct IDSink: TokenSink {
    var ids: [UInt32] = []
    @inline(__always) mutating func append(_ rank: UInt32) { ids.append(rank) }
}

struct CountSink: TokenSink {
    var count = 0
    @inline(__always) mutating func append(_ rank: UInt32) { count += 1 }
}
