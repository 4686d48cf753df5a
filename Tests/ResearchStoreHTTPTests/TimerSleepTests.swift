import Foundation
import Testing

@testable import ResearchStoreHTTP

/// The sleep behind the deadlines raced against every request body and streamed write. That
/// cancelling it frees its memory is tested on the server itself (`BodyDeadlineMemoryTests`).
@Suite("Timer sleep")
struct TimerSleepTests {
    @Test("it sleeps for its duration")
    func sleeps() async throws {
        let start = ContinuousClock.now
        try await TimerSleep.sleep(for: .milliseconds(50))
        #expect(ContinuousClock.now - start >= .milliseconds(50))
    }

    @Test("cancelled, it ends at once with CancellationError")
    func cancelledEndsAtOnce() async throws {
        let start = ContinuousClock.now
        let sleeper = Task { try await TimerSleep.sleep(for: .seconds(3600)) }
        try await Task.sleep(for: .milliseconds(20))
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(ContinuousClock.now - start < .seconds(5))

        // Cancelled before it starts: it never waits.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await TimerSleep.sleep(for: .seconds(3600))
        }
        await #expect(throws: CancellationError.self) { try await early.value }
    }
}
