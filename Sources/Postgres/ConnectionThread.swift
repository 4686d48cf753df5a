import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one thread that drives one connection: every libpq call with its handle runs here.
///
/// It is also a `TaskExecutor`. The pool runs a lease holder's whole unit of work with this thread
/// as the task's executor preference, so the unit's statements call libpq directly, with no thread
/// hop per statement; a task without that preference (an unstructured task, a caller holding a
/// bare connection) hops here with `run` for each call. Either way one
/// thread, so one caller at a time: exclusivity is structural, not a convention.
final class ConnectionThread: TaskExecutor, Sendable {
    private let thread = NIOThreadPool(numberOfThreads: 1)
    /// `pthread_self()` of the thread, recorded by the first job it runs (0 before that).
    private let threadID = Atomic<UInt>(0)
    private let hopCount = Atomic<Int>(0)

    init() {
        thread.start()
    }

    /// True when the caller runs on this thread, i.e. may call libpq directly.
    var isCurrent: Bool {
        let id = threadID.load(ordering: .relaxed)
        return id != 0 && id == Self.currentThreadID
    }

    /// Runs `body` on this thread and returns its result.
    ///
    /// Deliberately not cancellable: once submitted, `body` runs even if the task is cancelled, so a
    /// `ROLLBACK`, `COMMIT` or `PQfinish` is never skipped. Statements are cancelled with `PQcancel`.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        if isCurrent { return try body() }
        hopCount.add(1, ordering: .relaxed)
        return try await withCheckedThrowingContinuation { continuation in
            thread.submit { state in
                guard case .active = state else {
                    continuation.resume(throwing: PostgresError(code: .executorShutDown))
                    return
                }
                self.recordThread()
                continuation.resume(with: Result(catching: body))
            }
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        thread.submit { state in
            guard case .active = state else {
                // Stopped: no lease holder is left, but a job must never be dropped.
                globalConcurrentExecutor.enqueue(ExecutorJob(job))
                return
            }
            self.recordThread()
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }

    /// How many `run` calls came from elsewhere and had to hop here (for tests and profiles).
    var hops: Int { hopCount.load(ordering: .relaxed) }

    /// Stops the thread. Jobs still queued then fail (`run`) or move to the global executor.
    func shutdown() async {
        try? await thread.shutdownGracefully()
    }

    private func recordThread() {
        if threadID.load(ordering: .relaxed) == 0 { threadID.store(Self.currentThreadID, ordering: .relaxed) }
    }

    #if canImport(Glibc)
    private static var currentThreadID: UInt { UInt(pthread_self()) }
    #else
    private static var currentThreadID: UInt { UInt(bitPattern: pthread_self()) }
    #endif
}
