import FoundationEssentials
import Postgres
import PostgresPool

extension ServiceError {
    /// Maps a database failure to what the client may learn of it.
    ///
    /// Constraint names follow `<table>_<field>_<rule>` (see schema.sql), so a CHECK violation
    /// names the field; unknown ids behind a foreign key are `404`. Connection trouble, and
    /// every failure that is the database's state rather than the request's (see
    /// `isTransient`), is `503` with `Retry-After`. Anything else is rethrown untouched: the
    /// HTTP layer logs it and answers a bare `500`, which is for bugs only.
    static func mapping(_ error: any Error, table: String) -> any Error {
        switch error {
        case let error as PostgresError where error.isConnectionError:
            return ServiceError(.unavailable, "the database is unreachable; retry shortly", retryAfterSeconds: 1)
        case is PostgresPoolError:
            return ServiceError(.unavailable, "the database is busy; retry shortly", retryAfterSeconds: 1)
        case let error as PostgresError where error.code == .unrepresentableValue:
            // Input validation refuses such values by name first; this is the backstop.
            return ServiceError.invalid(field: "body", "holds a value PostgreSQL cannot store (e.g. a date out of its range)")
        case let error as PostgresError where error.isTransient:
            return ServiceError(.unavailable, "the database could not complete the request now; retry shortly", retryAfterSeconds: 1)
        case let error as PostgresError:
            let field = error.constraint.flatMap { fieldName(constraint: $0, table: table) }
            switch error.sqlState {
            case "23503": return ServiceError.notFound(field.map { "the \($0)" } ?? "a referenced resource")
            case "23505": return ServiceError(.conflict, "\(field ?? "the resource") already exists")
            case "23514", "23502", "22001", "22003":
                return ServiceError.invalid(field: field ?? "body", "is out of range")
            default: return error
            }
        default:
            return error
        }
    }

    /// `sessions_title_length` → `title`, `messages_session_id_fkey` → `session_id`.
    static func fieldName(constraint: String, table: String) -> String? {
        var name = Substring(constraint)
        if name.hasPrefix(table + "_") { name = name.dropFirst(table.count + 1) }
        let rules = ["_length", "_format", "_valid", "_range", "_object", "_size", "_required", "_state", "_order", "_fkey", "_key", "_pkey"]
        for rule in rules where name.hasSuffix(rule) {
            return String(name.dropLast(rule.count))
        }
        return nil
    }
}

extension PostgresError {
    /// Failures of the database's moment, not of the request: the same request may succeed
    /// when retried. The server's own `statement_timeout` (57014), deadlock (40P01),
    /// serialization failure (40001), a read-only server (25006, e.g. a standby right after a
    /// failover), lock not available (55P03), insufficient resources (class 53), and an
    /// operator intervention (57P04, 57P05).
    var isTransient: Bool {
        guard let sqlState else { return false }
        return ["57014", "40P01", "40001", "25006", "55P03", "57P04", "57P05"].contains(sqlState) || sqlState.hasPrefix("53")
    }

    /// A deadlock or serialization failure: the transaction was rolled back whole, so running
    /// the same unit of work again is safe and usually succeeds.
    var isRetryableConflict: Bool { sqlState == "40P01" || sqlState == "40001" }
}

/// How often `database` runs a unit of work that lost a deadlock or serialization race.
let conflictAttempts = 3

/// Runs database work and maps its errors for the client.
///
/// `body` is one unit of work (one statement, or one transaction), so when PostgreSQL rolls it
/// back for a deadlock or serialization failure it is run again, up to `conflictAttempts`
/// times with a short random pause. Inside a shared transaction only the outermost unit retries:
/// a failed statement aborts the whole transaction.
func database<Result>(
    table: String, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> sending Result
) async throws -> sending Result {
    var attempt = 1
    while true {
        do {
            return try await body()
        } catch let error as ServiceError {
            throw error
        } catch let error as PostgresError where error.isRetryableConflict {
            // Inside a shared transaction the unit's owner (an outer `database`) retries it whole.
            if PostgresPool.sharedTransactionIsActive { throw error }
            guard attempt < conflictAttempts else { throw ServiceError.mapping(error, table: table) }
            attempt += 1
            try await Task.sleep(for: .milliseconds(Int.random(in: 5...(25 * attempt))))
        } catch {
            throw ServiceError.mapping(error, table: table)
        }
    }
}

/// Looks `what` up by a path id. A malformed id, an unknown one and one the caller may not see
/// are all `404`, so existence is never leaked; database errors are mapped for the client.
func lookUp<Result: Sendable>(
    _ what: String, id text: String, table: String, _ find: (UUID) async throws -> Result?
) async throws -> Result {
    guard let id = UUID(uuidString: text) else { throw ServiceError.notFound(what) }
    let result = try await database(table: table) { try await find(id) }
    guard let result else { throw ServiceError.notFound(what) }
    return result
}
