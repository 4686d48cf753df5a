import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// glibc gives threads that allocate at the same time arenas of their own, up to eight per core,
/// and each keeps the memory it once held (when every database connection had a thread, a loaded
/// server grew an arena per connection). Two arenas keep RSS near what is in use across the
/// cooperative pool's threads and the wrapper's few blocking-call threads.
enum MallocArenas {
    static let maximum: Int32 = 2
    /// `M_ARENA_MAX` from glibc's malloc.h, which Swift's Glibc module does not import.
    private static let arenaMaxParameter: Int32 = -8

    /// Caps the arenas, early, before the pools start their threads; an operator's own
    /// `MALLOC_ARENA_MAX` (which glibc reads itself) wins.
    static func limit() {
        #if canImport(Glibc)
        guard (ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] ?? "").isEmpty else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(arenaMaxParameter, maximum)
        #endif
    }
}
