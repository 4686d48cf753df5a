import FoundationEssentials
import Synchronization

/// Token buckets per caller: `burst` requests at once, refilled at `rate` per second. Per
/// process: with N replicas a caller may get up to N times the rate. Buckets that have refilled
/// completely are forgotten, so memory follows the number of recently active callers.
final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    /// What one request was granted.
    struct Decision {
        var allowed: Bool
        var remaining: Int
        /// Seconds until a token is available (when refused) or the bucket is full again.
        var resetSeconds: Int
        var retryAfterSeconds: Int
    }

    let rate: Double
    let burst: Int
    private let state = Mutex<(buckets: [String: Bucket], lastForget: ContinuousClock.Instant)>(([:], .now))

    init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = burst
    }

    func take(_ key: String, now: ContinuousClock.Instant = .now) -> Decision {
        state.withLock { state in
            // Forgetting walks every bucket, so it runs at most once a second, not per request.
            if state.buckets.count > 10_000, now - state.lastForget > .seconds(1) {
                forgetFull(&state.buckets, now: now)
                state.lastForget = now
            }
            var bucket = state.buckets[key] ?? Bucket(tokens: Double(burst), updated: now)
            bucket.tokens = min(Double(burst), bucket.tokens + seconds(now - bucket.updated) * rate)
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            state.buckets[key] = bucket
            let untilToken = allowed ? 0 : (1 - bucket.tokens) / rate
            return Decision(
                allowed: allowed, remaining: Int(bucket.tokens.rounded(.down)),
                resetSeconds: Int(((Double(burst) - bucket.tokens) / rate).rounded(.up)),
                retryAfterSeconds: max(1, Int(untilToken.rounded(.up))))
        }
    }

    /// Callers with a bucket in memory.
    var trackedCallers: Int { state.withLock { $0.buckets.count } }

    private func forgetFull(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        buckets = buckets.filter { _, bucket in bucket.tokens + seconds(now - bucket.updated) * rate < Double(burst) }
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
