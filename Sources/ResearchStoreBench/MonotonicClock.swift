import Dispatch

/// Nanoseconds on a monotonic clock: one cheap call, no `Duration` arithmetic on the hot path.
enum MonotonicClock {
    @inline(__always) static func nanoseconds() -> UInt64 {
        DispatchTime.now().uptimeNanoseconds
    }
}
