import Foundation
import Synchronization

/// A value shared between test tasks, behind a lock.
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    public init(_ value: Value) { mutex = Mutex(value) }
    public func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { value in body(&value) }
    }
    public var value: Value { mutex.withLock { $0 } }
}

/// Runs blocking work (a child process, a socket wait) on a thread of its own, so that it never
/// holds a thread of the cooperative pool that the servers under test need.
public func onOwnThread<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Swift.Result { try body() }) }.start()
    }
}

/// Polls `condition` until it holds and returns true, or returns false after `guard` — a hang
/// guard far beyond what the condition needs on a busy machine, never a bound a test relies on.
public func waitUntil(
    guard limit: Duration = .seconds(60), every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try await Task.sleep(for: interval)
    }
}
