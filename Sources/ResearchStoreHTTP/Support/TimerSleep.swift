import NIOCore
import NIOPosix
import Synchronization

/// A cancellable sleep on a NIO timer, for deadlines that almost never fire (a body's read
/// timeout, a stalled write). Cancelling it frees the timer at once; a cancelled `Task.sleep`
/// keeps its memory until the deadline, so one per request grew the heap by rate × timeout.
enum TimerSleep {
    private enum State: Sendable {
        case starting
        case scheduled(Scheduled<Void>)
        case cancelled
    }

    /// Returns after `duration`, or throws `CancellationError` as soon as the task is cancelled.
    static func sleep(for duration: Duration) async throws {
        let state = Mutex(State.starting)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: TimeAmount(duration)) {}
                timer.futureResult.whenComplete { result in
                    continuation.resume(with: result.mapError { _ in CancellationError() })
                }
                let cancelledFirst = state.withLock { state in
                    if case .cancelled = state { return true }
                    state = .scheduled(timer)
                    return false
                }
                if cancelledFirst { timer.cancel() }
            }
        } onCancel: {
            let timer = state.withLock { state -> Scheduled<Void>? in
                defer { state = .cancelled }
                if case .scheduled(let timer) = state { return timer }
                return nil
            }
            timer?.cancel()
        }
    }
}
