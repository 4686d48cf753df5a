import Foundation
import Testing

@testable import ResearchStoreHTTP

/// The deadlines raced against every request body (and every streamed write): cancelled, they
/// must free what they hold at once. A cancelled `Task.sleep` held ~0.7 KiB until its deadline,
/// so a server storing 8,000 messages a second grew by ~170 MiB over a 30-second body timeout.
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

    @Test("cancelled hour-long sleeps free their memory: 40,000 raise RSS by far less than they held")
    func cancelledSleepsFreeTheirMemory() async throws {
        // The first round brings malloc to its working size; the second must reuse it.
        try await cancelledSleeps(20_000)
        let before = try anonymousKiB()
        try await cancelledSleeps(40_000)
        let growth = try anonymousKiB() - before
        // Held until their deadline, 40,000 would be ~28 MiB; freed, the second round needs nothing new.
        #expect(growth < 10 * 1024, "anonymous RSS grew by \(growth) KiB")
    }

    /// Starts `count` hour-long sleeps, 500 at a time, and cancels each batch once all sleep.
    private func cancelledSleeps(_ count: Int) async throws {
        for _ in 0..<(count / 500) {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<500 { group.addTask { try? await TimerSleep.sleep(for: .seconds(3600)) } }
                try? await Task.sleep(for: .milliseconds(5))
                group.cancelAll()
            }
        }
    }

    private func anonymousKiB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }
}
