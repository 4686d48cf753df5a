#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `getrusage(RUSAGE_SELF)` snapshot: CPU time, context switches and peak RSS of this process.
struct ProcessUsage: Sendable {
    /// User plus system CPU time, in microseconds.
    let cpuMicroseconds: Int
    /// Voluntary plus involuntary context switches (each blocking hand-off between threads adds some).
    let contextSwitches: Int
    /// Peak resident set size so far, in kilobytes.
    let peakRSSKilobytes: Int

    static func now() -> ProcessUsage {
        var usage = rusage()
        #if canImport(Darwin)
        let status = getrusage(RUSAGE_SELF, &usage)
        let peak = Int(usage.ru_maxrss) / 1024  // bytes on Darwin
        #else
        let status = getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let peak = Int(usage.ru_maxrss)  // kilobytes on Linux
        #endif
        guard status == 0 else { return ProcessUsage(cpuMicroseconds: 0, contextSwitches: 0, peakRSSKilobytes: -1) }
        func microseconds(_ time: timeval) -> Int { Int(time.tv_sec) * 1_000_000 + Int(time.tv_usec) }
        return ProcessUsage(
            cpuMicroseconds: microseconds(usage.ru_utime) + microseconds(usage.ru_stime),
            contextSwitches: Int(usage.ru_nvcsw) + Int(usage.ru_nivcsw),
            peakRSSKilobytes: peak)
    }
}
