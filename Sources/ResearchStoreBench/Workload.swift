import ArgumentParser

/// Which measurement(s) to run; `all` runs copy, select, insert and pipeline in that order.
enum Workload: String, CaseIterable, ExpressibleByArgument, Sendable {
    case insert, select, pipeline, copy, all

    /// The single workloads `self` stands for, in run order. COPY runs first so that the
    /// SELECT pre-load and the inserts happen on a server that has already loaded a table.
    var expanded: [Workload] {
        self == .all ? [.copy, .select, .insert, .pipeline] : [self]
    }
}
