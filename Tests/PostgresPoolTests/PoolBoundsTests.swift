import Foundation
import Postgres
import PostgresPool
import TestSupport
import Testing

@Suite("The pool is bounded, fair and honest about waiting")
struct PoolBoundsTests {
    @Test("500 concurrent tasks never open more than the maximum")
    func neverMoreThanMaximum() async throws {
        let name = TestDatabase.uniqueName("bounded")
        let url = try TestDatabase.url() + "&application_name=\(name)"
        try await withPool(connection: url, { $0.maximumConnections = 8; $0.acquireTimeout = .seconds(30) }) { pool in
            let highest = Locked(0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<500 {
                    group.addTask {
                        try await pool.withConnection { connection in
                            let open = pool.statistics.open
                            highest.withLock { $0 = max($0, open) }
                            try await connection.query("SELECT \(index), pg_sleep(0.001)")
                        }
                    }
                }
                group.addTask {
                    // Meanwhile, PostgreSQL itself never sees more than 8 of our backends.
                    for _ in 0..<20 {
                        let seen = try await backendCount(applicationName: name)
                        highest.withLock { $0 = max($0, seen) }
                        try await Task.sleep(for: .milliseconds(10))
                    }
                }
                try await group.waitForAll()
            }
            #expect(highest.value <= 8)
            #expect(highest.value >= 2)
            let statistics = pool.statistics
            #expect(statistics.acquisitions == 500)
            #expect(statistics.open <= 8)
            #expect(statistics.inUse == 0)
            #expect(statistics.waiting == 0)
            #expect(statistics.waits > 0)
        }
    }

    @Test("the acquire timeout fires with a typed error")
    func acquireTimeout() async throws {
        try await withPool({
            $0.maximumConnections = 1
            $0.minimumConnections = 1
            $0.acquireTimeout = .milliseconds(200)
        }) { pool in
            // Open the one connection first, so a slow connect cannot eat the short timeout.
            let runner = Task { try await pool.run() }
            defer { runner.cancel() }
            #expect(await eventually { pool.statistics.idle == 1 })
            try await pool.withConnection { _ in
                let started = ContinuousClock.now
                await #expect(throws: PostgresPoolError.acquireTimedOut) {
                    try await pool.withConnection { _ in }
                }
                let waited = ContinuousClock.now - started
                #expect(waited >= .milliseconds(190) && waited < .seconds(60))  // the upper bound only guards a hang
            }
            #expect(pool.statistics.timeouts == 1)
            #expect(pool.statistics.waiting == 0)
            // Once free, the connection is lent again.
            #expect(try await pool.query("SELECT 1").count == 1)
        }
    }

    @Test("a cancelled waiter leaves the queue at once")
    func cancelledWaiterIsRemoved() async throws {
        try await withPool({ $0.maximumConnections = 1; $0.acquireTimeout = .seconds(30) }) { pool in
            try await pool.withConnection { _ in
                let waiter = Task { try await pool.withConnection { _ in } }
                #expect(await eventually { pool.statistics.waiting == 1 })
                waiter.cancel()
                // The cancellation handler runs inside cancel(): the queue is already empty here,
                // whatever the scheduler does next (no timing involved).
                #expect(pool.statistics.waiting == 0)
                await #expect(throws: CancellationError.self) { try await waiter.value }
            }
        }
    }

    @Test("too many waiters are refused at once")
    func waiterCap() async throws {
        try await withPool({ $0.maximumConnections = 1; $0.maximumWaiters = 2; $0.acquireTimeout = .seconds(30) }) { pool in
            try await pool.withConnection { _ in
                let first = Task { try await pool.withConnection { _ in } }
                let second = Task { try await pool.withConnection { _ in } }
                #expect(await eventually { pool.statistics.waiting == 2 })
                await #expect(throws: PostgresPoolError.tooManyWaiters) { try await pool.withConnection { _ in } }
                first.cancel()
                second.cancel()
                _ = await (first.result, second.result)
            }
        }
    }

    @Test("waiters are served first come, first served")
    func fifo() async throws {
        try await withPool({ $0.maximumConnections = 1; $0.acquireTimeout = .seconds(30) }) { pool in
            let order = Locked<[Int]>([])
            var tasks: [Task<Void, any Error>] = []
            try await pool.withConnection { _ in
                for index in 0..<10 {
                    tasks.append(Task { try await pool.withConnection { _ in order.withLock { $0.append(index) } } })
                    #expect(await eventually { pool.statistics.waiting == index + 1 })
                }
            }
            for task in tasks { try await task.value }
            #expect(order.value == Array(0..<10))
        }
    }

    @Test("statistics describe the pool")
    func statistics() async throws {
        try await withPool({ $0.maximumConnections = 3 }) { pool in
            #expect(pool.statistics.open == 0)
            try await pool.withConnection { _ in
                let during = pool.statistics
                #expect(during.inUse == 1 && during.open == 1 && during.idle == 0 && during.maximum == 3)
            }
            let after = pool.statistics
            #expect(after.inUse == 0 && after.idle == 1 && after.acquisitions == 1)
        }
    }
}
