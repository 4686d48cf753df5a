import Synchronization

/// Whether the process has begun a graceful shutdown; readiness turns false as soon as it has.
public final class ShutdownState: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public var isShuttingDown: Bool { flag.load(ordering: .relaxed) }
    public func begin() { flag.store(true, ordering: .relaxed) }
}
