import Foundation
@testable import ResearchStoreHTTP
import Testing

@Suite("Token buckets")
struct RateLimiterTests {
    @Test("a bucket allows its burst, refuses with the time to the next token, and refills at the rate")
    func bucket() {
        let limiter = RateLimiter(rate: 1, burst: 2)
        let start = ContinuousClock.now
        #expect(limiter.take("a", now: start).remaining == 1)
        #expect(limiter.take("a", now: start).allowed)
        let refused = limiter.take("a", now: start)
        #expect(!refused.allowed && refused.retryAfterSeconds == 1 && refused.resetSeconds == 2)
        #expect(limiter.take("b", now: start).allowed)  // another caller has a bucket of its own
        #expect(!limiter.take("a", now: start + .milliseconds(500)).allowed)
        #expect(limiter.take("a", now: start + .milliseconds(1500)).allowed)
    }

    @Test("buckets that have refilled are forgotten once there are many, so memory follows recent callers")
    func forgetting() {
        let limiter = RateLimiter(rate: 100, burst: 5)
        let start = ContinuousClock.now + .seconds(2)
        for index in 0...10_000 { _ = limiter.take("caller-\(index)", now: start) }
        #expect(limiter.trackedCallers == 10_001)
        _ = limiter.take("late", now: start + .seconds(5))  // every old bucket is full again by then
        #expect(limiter.trackedCallers == 1)
    }
}
