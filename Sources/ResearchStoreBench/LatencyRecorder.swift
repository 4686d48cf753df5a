/// One task's latencies, in nanoseconds, in an array allocated before the run starts.
///
/// Owned by a single task, so recording takes no lock. When it is full, further samples are
/// counted as dropped (the operation itself still counts towards throughput).
struct LatencyRecorder: Sendable {
    private(set) var samples: [UInt64]
    private let capacity: Int
    private(set) var dropped = 0

    init(capacity: Int) {
        self.capacity = capacity
        samples = []
        samples.reserveCapacity(capacity)
        // Touch the pages now, so the first seconds of the run do not pay for page faults.
        samples.append(contentsOf: repeatElement(0, count: capacity))
        samples.removeAll(keepingCapacity: true)
    }

    @inline(__always) mutating func record(_ nanoseconds: UInt64) {
        if samples.count < capacity {
            samples.append(nanoseconds)
        } else {
            dropped += 1
        }
    }
}
