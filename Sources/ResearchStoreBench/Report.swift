import Foundation

/// Writes a progress line to stderr (stdout carries only machine-readable lines).
func progress(_ message: String) {
    FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
}

/// One machine-readable stdout line: `KIND key=value key=value …`, parsed by `scripts/bench`.
struct ReportLine {
    private var text: String

    init(_ kind: String) { text = kind }

    func with(_ key: String, _ value: some CustomStringConvertible) -> ReportLine {
        var copy = self
        copy.text += " \(key)=\(value)"
        return copy
    }

    func with(_ key: String, milliseconds value: Double) -> ReportLine {
        with(key, value.isFinite ? String(format: "%.3f", value) : "nan")
    }

    func with(_ key: String, rate value: Double) -> ReportLine {
        with(key, String(format: "%.1f", value))
    }

    func emit() {
        print(text)
        fflush(nil)  // all C streams; naming `stdout` is not concurrency-safe in Swift 6
    }
}

extension ReportLine {
    /// The RESULT line of one INSERT or SELECT run; `engine` tells `scripts/bench` which engine ran it.
    static func result<Operation>(
        _ name: String, engine: Engine, tasks: Int, prepared: Bool, outcome: LoadRunner<Operation>.Outcome,
        connectionsOpen: Int
    ) -> ReportLine {
        ReportLine("RESULT").with("workload", name).with("engine", engine.rawValue).with("tasks", tasks)
            .with("prepared", prepared)
            .with("rows_per_s", rate: outcome.rowsPerSecond)
            .with("p50_ms", milliseconds: outcome.latency.p50Milliseconds)
            .with("p99_ms", milliseconds: outcome.latency.p99Milliseconds)
            .with("ops", outcome.operations)
            .with("cpu_us_per_op", String(format: "%.1f", outcome.cpuMicrosecondsPerOperation))
            .with("csw_per_op", String(format: "%.2f", outcome.contextSwitchesPerOperation))
            .with("dropped_samples", outcome.droppedSamples)
            .with("pool_open", connectionsOpen)
            .with("pool_waits_in_window", outcome.poolWaits)
            .with("checksum", outcome.checksum)
    }
}
