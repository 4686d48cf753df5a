/// Percentiles of the merged samples of all tasks.
struct LatencySummary: Sendable {
    let count: Int
    let p50Milliseconds: Double
    let p99Milliseconds: Double

    /// Merges the recorders, sorts once and reads nearest-rank percentiles.
    init(merging recorders: [LatencyRecorder]) {
        var all: [UInt64] = []
        all.reserveCapacity(recorders.reduce(0) { $0 + $1.samples.count })
        for recorder in recorders { all.append(contentsOf: recorder.samples) }
        all.sort()
        count = all.count
        func percentile(_ fraction: Double) -> Double {
            guard !all.isEmpty else { return .nan }
            let rank = Int((fraction * Double(all.count)).rounded(.up)) - 1
            return Double(all[min(max(rank, 0), all.count - 1)]) / 1_000_000
        }
        p50Milliseconds = percentile(0.50)
        p99Milliseconds = percentile(0.99)
    }
}
