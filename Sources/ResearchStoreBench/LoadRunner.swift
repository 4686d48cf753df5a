import PostgresPool

/// Runs `tasks` concurrent tasks that each repeat `operation` against its target (the wrapper's
/// pool or the event-loop engine; closed loop):
/// first for the warm-up, then for the measured window.
///
/// Only operations that complete inside the window count; each task records its latencies in
/// its own preallocated `LatencyRecorder`, merged after the run.
struct LoadRunner<Operation: BenchOperation>: Sendable {
    let operation: Operation
    let tasks: Int
    let warmupSeconds: Double
    let durationSeconds: Double

    /// The outcome of one run.
    struct Outcome: Sendable {
        let rowsPerSecond: Double
        let operations: Int
        let latency: LatencySummary
        let droppedSamples: Int
        let checksum: Int
        /// This process's CPU time and context switches per operation inside the window.
        let cpuMicrosecondsPerOperation: Double
        let contextSwitchesPerOperation: Double
        /// Leases that had to wait for a connection inside the window (0 when pool maximum = tasks).
        let poolWaits: Int
    }

    /// Process usage and pool waits at one instant.
    private struct Snapshot: Sendable {
        let usage: ProcessUsage
        let poolWaits: Int

        init(target: Operation.Target) {
            usage = .now()
            poolWaits = target.leaseWaits
        }
    }

    private struct TaskOutcome: Sendable {
        var recorder: LatencyRecorder
        var rows = 0
        var operations = 0
        var checksum = 0
    }

    func run(on target: Operation.Target) async throws -> Outcome {
        // 100k statements/s in total is beyond what this reaches on a small machine; extra samples count as dropped.
        let capacity = max(16_384, Int(durationSeconds * 100_000) / tasks)
        let seed = UInt64.random(in: .min ... .max)
        let measureFrom = MonotonicClock.nanoseconds() + UInt64(warmupSeconds * 1e9)
        let endAt = measureFrom + UInt64(durationSeconds * 1e9)
        let operation = self.operation
        async let window = Self.snapshots(from: measureFrom, to: endAt, target: target)

        let outcomes = try await withThrowingTaskGroup(of: TaskOutcome.self) { group in
            for index in 0..<tasks {
                group.addTask(executorPreference: target.taskExecutor) {
                    var outcome = TaskOutcome(recorder: LatencyRecorder(capacity: capacity))
                    var random = SplitMix64(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
                    while true {
                        let started = MonotonicClock.nanoseconds()
                        if started >= endAt { break }
                        let result = try await operation.run(on: target, random: &random)
                        let finished = MonotonicClock.nanoseconds()
                        outcome.checksum &+= result.checksum
                        if finished >= measureFrom, finished < endAt {
                            outcome.recorder.record(finished - started)
                            outcome.rows += result.rows
                            outcome.operations += 1
                        }
                    }
                    return outcome
                }
            }
            var collected: [TaskOutcome] = []
            for try await outcome in group { collected.append(outcome) }
            return collected
        }

        let rows = outcomes.reduce(0) { $0 + $1.rows }
        let operations = outcomes.reduce(0) { $0 + $1.operations }
        let (first, last) = try await window
        let perOperation = Double(max(operations, 1))
        return Outcome(
            rowsPerSecond: Double(rows) / durationSeconds,
            operations: operations,
            latency: LatencySummary(merging: outcomes.map(\.recorder)),
            droppedSamples: outcomes.reduce(0) { $0 + $1.recorder.dropped },
            checksum: outcomes.reduce(0) { $0 &+ $1.checksum },
            cpuMicrosecondsPerOperation: Double(last.usage.cpuMicroseconds - first.usage.cpuMicroseconds) / perOperation,
            contextSwitchesPerOperation: Double(last.usage.contextSwitches - first.usage.contextSwitches) / perOperation,
            poolWaits: last.poolWaits - first.poolWaits)
    }

    /// Snapshots usage and pool waits when the window opens and when it closes.
    private static func snapshots(
        from start: UInt64, to end: UInt64, target: Operation.Target
    ) async throws -> (Snapshot, Snapshot) {
        try await sleep(until: start)
        let first = Snapshot(target: target)
        try await sleep(until: end)
        return (first, Snapshot(target: target))
    }

    private static func sleep(until deadline: UInt64) async throws {
        let now = MonotonicClock.nanoseconds()
        if deadline > now { try await Task.sleep(for: .nanoseconds(deadline - now)) }
    }
}
