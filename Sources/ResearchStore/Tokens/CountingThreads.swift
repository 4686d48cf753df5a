import NIOPosix

/// Where tokens are counted: small inputs on the caller's task, large ones on NIO's blocking-work
/// threads. A few megabytes take a tenth of a second or more, which would hold up every request
/// sharing that cooperative thread; below the threshold, counting costs less than the hop.
enum CountingThreads {
    static let bytesCountedInline = 64 * 1024

    static func run<Result: Sendable>(bytes: Int, _ work: @escaping @Sendable () -> Result) async throws -> Result {
        guard bytes > bytesCountedInline else { return work() }
        return try await NIOThreadPool.singleton.runIfActive(work)
    }
}
