import Foundation
import Postgres
import PostgresPool

extension ServiceError {
    /// Maps a database failure to what the client may learn of it.
    ///
    /// Constraint names follow `<table>_<field>_<rule>` (see schema.sql), so a CHECK violation
    /// names the field; unknown ids behind a foreign key are `404`. Connection trouble is `503`.
    /// Anything else is rethrown untouched: the HTTP layer logs it and answers a bare `500`.
    static func mapping(_ error: any Error, table: String) -> any Error {
        switch error {
        case let error as PostgresError where error.isConnectionError:
            return ServiceError(.unavailable, "the database is unreachable; retry shortly", retryAfterSeconds: 1)
        case is PostgresPoolError:
            return ServiceError(.unavailable, "the database is busy; retry shortly", retryAfterSeconds: 1)
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

/// Runs database work and maps its errors for the client.
func database<Result>(
    table: String, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> sending Result
) async throws -> sending Result {
    do {
        return try await body()
    } catch let error as ServiceError {
        throw error
    } catch {
        throw ServiceError.mapping(error, table: table)
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
