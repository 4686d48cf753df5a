import FoundationEssentials
import PostgresPool
import Synchronization

/// Where a read may go (`DATABASE_REPLICA_URLS`), and how long a read that carries a token waits
/// for a replica to catch up (`REPLICA_WAIT_MS`) or how far behind an untokened read lets one be
/// (`REPLICA_MAX_LAG_MS`).
public struct ReplicaSettings: Sendable {
    public var wait: Duration = .milliseconds(100)
    public var maximumLag: Duration = .seconds(1)

    public init() {}
}

/// The database a read was served from.
public enum ReadTarget: String, Sendable {
    case primary, replica
}

/// Read-your-writes across replicas (API.md, "Replicas, failover and read-your-writes"). A write's
/// response carries a consistency token: the primary's WAL position once the write committed,
/// signed like cursors (`CURSOR_SECRET`). A read that sends it back goes to a replica only once
/// that replica has replayed the position, else to the primary.
public final class ConsistencyService: Sendable {
    let primary: PostgresPool
    let replicas: ReadReplicas?
    let signer: CursorSigner
    let settings: ReplicaSettings
    private let positions: WritePositions

    public init(primary: PostgresPool, replicas: ReadReplicas?, signer: CursorSigner, settings: ReplicaSettings = ReplicaSettings()) {
        self.primary = primary
        self.replicas = replicas
        self.signer = signer
        self.settings = settings
        positions = WritePositions(pool: primary)
    }

    static let tokenKind = "lsn"
    static let tokenField = "X-Consistency-Token"

    private var hasReplicas: Bool { !(replicas?.isEmpty ?? true) }

    /// The token for the answer to a write that committed before this call. Without replicas it
    /// carries position 0, which any replica added later has passed.
    public func tokenAfterWrite() async throws -> String {
        let position = hasReplicas ? try await positions.current() : 0
        return signer.encode(Cursor(kind: Self.tokenKind, position: Int64(position)))
    }

    /// Runs a read (`body`) on a replica when one may serve it, else on the primary, and tells
    /// `ranOn` where it ran in the end (the primary when the replica could not serve it). A token
    /// this deployment did not issue is `400`.
    public func read<Result: Sendable>(
        token: String?, ranOn: (ReadTarget) -> Void, _ body: () async throws -> Result
    ) async throws -> Result {
        let position = try token.map(position(of:))
        guard let replicas, hasReplicas,
            let replica = await replicas.replica(after: position, wait: settings.wait, maximumLag: settings.maximumLag)
        else {
            defer { ranOn(.primary) }
            return try await body()
        }
        return try await primary.routingReads(to: replica, finished: { ranOn($0 ? .replica : .primary) }, body)
    }

    /// The WAL position a token carries.
    func position(of token: String) throws(ServiceError) -> UInt64 {
        guard let cursor = try? signer.decode(token, kind: Self.tokenKind), cursor.position >= 0, cursor.id == nil, cursor.name == nil
        else {
            throw ServiceError(.malformed, "\(Self.tokenField) was not issued by this deployment", fieldErrors: [
                FieldError(field: Self.tokenField, message: "was not issued by this deployment")
            ])
        }
        return UInt64(cursor.position)
    }

    /// The replicas as the watch last saw them, for `/db/health`.
    public var replicaStatuses: [ReadReplicas.Status] { replicas?.current ?? [] }
}

/// The primary's WAL insert position, asked once for every write that finished before the
/// question was sent: concurrent writes share one round trip.
final class WritePositions: Sendable {
    private struct Flight {
        var started: ContinuousClock.Instant
        var answer: Task<UInt64, any Error>
    }

    private let pool: PostgresPool
    private let flight = Mutex<Flight?>(nil)

    init(pool: PostgresPool) {
        self.pool = pool
    }

    /// A position at or past every commit that returned before this call.
    func current() async throws -> UInt64 {
        let now = ContinuousClock.now
        let answer = flight.withLock { flight -> Task<UInt64, any Error> in
            // A question sent after our commit covers it; an older one may not.
            if let flight, flight.started >= now { return flight.answer }
            let pool = self.pool
            // The instant is taken before the question can be sent: a flight's question always
            // runs after its `started`, so a commit that returned before `started` is covered.
            // (Taken after creating the task, a task already running could ask before it.)
            let started = ContinuousClock.now
            let answer = Task {
                UInt64(try await pool.query("SELECT (pg_current_wal_insert_lsn() - '0/0')::int8").first?.decode(0, as: Int64.self) ?? 0)
            }
            flight = Flight(started: started, answer: answer)
            return answer
        }
        return try await answer.value
    }
}
