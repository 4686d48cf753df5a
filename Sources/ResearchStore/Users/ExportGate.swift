import PostgresPool
import Synchronization

/// How many exports a process streams at once, and how long one chunk may wait for a client.
public struct ExportLimits: Sendable {
    /// Exports in progress; one more is answered `503` with `Retry-After` (`EXPORT_MAX_CONCURRENT`).
    public var maximumConcurrent = 2
    /// A chunk the client has not taken within this ends the export (`EXPORT_WRITE_TIMEOUT_S`).
    public var writeTimeout: Duration = .seconds(30)

    public init() {}
}

/// Admits exports up to `ExportLimits.maximumConcurrent` and lends them the connections of a pool
/// of their own: an export holds its connection (and snapshot) while the client reads, so slow
/// readers must never take connections from the request pool.
public final class ExportGate: Sendable {
    let pool: PostgresPool
    public let limits: ExportLimits
    private let active = Mutex(0)

    /// `pool` is the exports' own pool, sized to `limits.maximumConcurrent`.
    public init(pool: PostgresPool, limits: ExportLimits) {
        self.pool = pool
        self.limits = limits
    }

    /// A slot for one export, or `503` when all are taken.
    func enter() throws(ServiceError) -> ExportSlot {
        let admitted = active.withLock { count -> Bool in
            guard count < limits.maximumConcurrent else { return false }
            count += 1
            return true
        }
        guard admitted else {
            throw ServiceError(
                .unavailable, "\(limits.maximumConcurrent) exports are already in progress; retry shortly", retryAfterSeconds: 5)
        }
        return ExportSlot { [self] in active.withLock { $0 -= 1 } }
    }
}

/// One admitted export. The slot is given back once, when the export ends or, if it never
/// started (the client left first), when the export is dropped.
public final class ExportSlot: Sendable {
    private let release: Mutex<(@Sendable () -> Void)?>

    init(release: @escaping @Sendable () -> Void) {
        self.release = Mutex(release)
    }

    func end() {
        let release = self.release.withLock { release -> (@Sendable () -> Void)? in
            defer { release = nil }
            return release
        }
        release?()
    }

    deinit { end() }
}
