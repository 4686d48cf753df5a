#if canImport(Glibc)
import Foundation
import Glibc
import Synchronization

/// One thread blocked in `epoll_wait`, driving the connections whose sockets it reports ready.
///
/// Registrations are one-shot: reporting an event disarms the socket, so the thread sees a
/// connection again only after someone arms it with `epoll_ctl(MOD)`. Each registration's data is
/// the unretained address of its `LoopConnection` (the engine keeps them alive until `stop()`);
/// data 0 is the stop pipe, data 1 the job pipe.
///
/// It is also a `TaskExecutor`, for the pinned variant: a task that prefers it runs on this
/// thread, so a continuation the thread resumes is run by the same thread after the current batch
/// of events, with no hand-over to another thread.
final class EpollLoop: TaskExecutor, Sendable {
    private let epoll: Epoll
    private let descriptor: Int32
    /// A byte written here stops the thread.
    private let stopPipe: (read: Int32, write: Int32)
    /// A byte written here wakes the thread for jobs enqueued from other threads.
    private let wakePipe: (read: Int32, write: Int32)
    private let stopped = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let jobs = Mutex(JobQueue())
    /// `pthread_self()` of the loop thread (0 until it runs).
    private let threadID = Atomic<UInt>(0)

    private struct JobQueue {
        var jobs: [UnownedJob] = []
        var isStopped = false
    }

    init() throws {
        epoll = try Epoll.load()
        descriptor = epoll.create(Int32(O_CLOEXEC))
        guard descriptor >= 0 else { throw BenchFailure("epoll_create1 failed: errno \(errno)") }
        stopPipe = try Self.makePipe()
        wakePipe = try Self.makePipe()
        for (pipe, data) in [(stopPipe.read, UInt64(0)), (wakePipe.read, UInt64(1))] {
            let status = epoll.control(descriptor, Epoll.controlAdd, socket: pipe, events: Epoll.input, data: data)
            guard status == 0 else { throw BenchFailure("epoll_ctl(ADD) of a pipe failed: errno \(status)") }
        }
        let thread = Thread { [self] in run() }
        thread.name = "bench-event-loop"
        thread.start()
    }

    private static func makePipe() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw BenchFailure("pipe failed: errno \(errno)") }
        _ = fcntl(ends[0], F_SETFL, O_NONBLOCK)
        _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)
        return (ends[0], ends[1])
    }

    /// Adds `connection`'s socket, disarmed (no events asked for until `arm`).
    func register(_ connection: LoopConnection) throws {
        let status = epoll.control(
            descriptor, Epoll.controlAdd, socket: connection.socket, events: Epoll.oneShot, data: address(of: connection))
        guard status == 0 else { throw BenchFailure("epoll_ctl(ADD) failed: errno \(status)") }
    }

    /// Arms `connection`'s one-shot registration for `events`; returns 0 or errno. Ownership of the
    /// connection passes to the loop thread with this call (see `LoopConnection`).
    func arm(_ connection: LoopConnection, for events: UInt32) -> Int32 {
        epoll.control(
            descriptor, Epoll.controlModify, socket: connection.socket, events: events | Epoll.oneShot,
            data: address(of: connection))
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let (accepted, first) = jobs.withLock { queue -> (Bool, Bool) in
            guard !queue.isStopped else { return (false, false) }
            queue.jobs.append(job)
            return (true, queue.jobs.count == 1)
        }
        guard accepted else {
            // Stopped: a job must never be dropped.
            globalConcurrentExecutor.enqueue(ExecutorJob(job))
            return
        }
        // The loop thread drains the queue before it blocks again; others must wake it.
        if first, threadID.load(ordering: .relaxed) != UInt(pthread_self()) { signal(wakePipe.write) }
    }

    /// Stops the thread and waits until it has left `epoll_wait` for good, then closes the descriptors.
    func stop() async {
        await withCheckedContinuation { continuation in
            stopped.withLock { $0 = continuation }
            signal(stopPipe.write)
        }
        for descriptor in [descriptor, stopPipe.read, stopPipe.write, wakePipe.read, wakePipe.write] { close(descriptor) }
    }

    private func signal(_ pipe: Int32) {
        var byte: UInt8 = 1
        _ = write(pipe, &byte, 1)
    }

    private func address(of connection: LoopConnection) -> UInt64 {
        UInt64(UInt(bitPattern: Unmanaged.passUnretained(connection).toOpaque()))
    }

    private func run() {
        threadID.store(UInt(pthread_self()), ordering: .relaxed)
        let capacity = 256
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity * Epoll.eventSize, alignment: 8)
        defer { buffer.deallocate() }
        var stopping = false
        var drained = [UInt8](repeating: 0, count: 64)
        while !stopping {
            let pending = jobs.withLock { queue in
                defer { queue.jobs.removeAll(keepingCapacity: true) }
                return queue.jobs
            }
            for job in pending { job.runSynchronously(on: asUnownedTaskExecutor()) }
            let idle = jobs.withLock { $0.jobs.isEmpty }
            let count = epoll.wait(descriptor, buffer, Int32(capacity), idle ? -1 : 0)
            if count < 0 {
                guard errno == EINTR else { fatalError("epoll_wait failed: errno \(errno)") }
                continue
            }
            for index in 0..<Int(count) {
                let (events, data) = Epoll.event(at: index, in: buffer)
                switch data {
                case 0: stopping = true
                case 1: while read(wakePipe.read, &drained, drained.count) > 0 {}
                default:
                    let connection = Unmanaged<LoopConnection>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(data))!)
                    connection.takeUnretainedValue().handleReadiness(events)
                }
            }
        }
        let left = jobs.withLock { queue in
            queue.isStopped = true
            return queue.jobs
        }
        for job in left { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
        stopped.withLock { $0.take() }?.resume()
    }
}
#endif
