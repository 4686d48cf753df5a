import Foundation
import Postgres
import TestSupport
import Testing

/// `scripts/local-db replica-start`: a primary and its streaming replica on loopback, clusters of
/// the test's own.
@Suite("Primary and streaming replica")
struct ReplicaTopologyTests {
    @Test("replica-start --sync: the replica streams as the primary's synchronous standby, sees its writes and refuses its own")
    func synchronousReplica() async throws {
        try await ThrowawayCluster.with(prefix: "primary") { primary in
            try await ThrowawayCluster.withReplica(of: primary, synchronous: true) { try await check(primary: primary, replica: $0) }
        }
    }

    func check(primary: ThrowawayCluster, replica: ThrowawayCluster) async throws {
        #expect(try await primary.query("SELECT state || ' ' || sync_state FROM pg_stat_replication WHERE application_name = \(replica.name)") == "streaming sync")
        #expect(try await primary.query("SHOW synchronous_standby_names") == "\"\(replica.name)\"")
        #expect(try await replica.query("SELECT pg_is_in_recovery()::text") == "true")

        let table = TestDatabase.uniqueName("replicated")
        try await primary.withConnection { connection in
            try await connection.query("CREATE TABLE \(identifier: table) (n int PRIMARY KEY)")
            try await connection.query("INSERT INTO \(identifier: table) SELECT generate_series(1, 100)")
        }
        // A synchronous commit waits for the standby's flush, not its replay: the rows show up soon after.
        #expect(try await waitUntil { (try? await replica.count("SELECT count(*)::int FROM \(identifier: table)")) == 100 })

        let refused = await #expect(throws: PostgresError.self) {
            try await replica.withConnection { try await $0.query("INSERT INTO \(identifier: table) VALUES (101)") }
        }
        #expect(refused?.sqlState == "25006", "a replica refuses writes as a read-only transaction")
    }
}

extension ThrowawayCluster {
    /// Runs `body` on a new streaming replica of `primary`, removed afterwards whatever the outcome.
    static func withReplica(of primary: ThrowawayCluster, synchronous: Bool, _ body: (ThrowawayCluster) async throws -> Void) async throws {
        let replica = try await replica(of: primary, synchronous: synchronous)
        do {
            try await body(replica)
        } catch {
            await replica.destroy()
            throw error
        }
        await replica.destroy()
    }

    /// A streaming replica of `primary` (`scripts/local-db replica-start`), a cluster of its own.
    static func replica(of primary: ThrowawayCluster, synchronous: Bool) async throws -> ThrowawayCluster {
        var replica = ThrowawayCluster(name: primary.name + "-r", url: "", root: primary.root)
        let started = try await replica.script(
            "local-db", ["replica-start", "--name", replica.name, "--of", primary.name] + (synchronous ? ["--sync"] : []))
        guard started.status == 0 else {
            await replica.destroy()
            throw ClusterError(message: "local-db replica-start failed: \(started.output)")
        }
        let url = try await replica.script("local-db", ["url", "--name", replica.name])
        replica = ThrowawayCluster(name: replica.name, url: url.output.trimmingCharacters(in: .whitespacesAndNewlines), root: primary.root)
        return replica
    }
}
