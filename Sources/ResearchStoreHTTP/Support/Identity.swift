import Hummingbird
import ResearchStore

/// Who is calling, in `AUTH_MODE=none`: `X-User-ID` (or `anonymous`) and the comma-separated
/// roles of `X-User-Roles`. A malformed user id is `401`.
enum Identity {
    static func caller(of request: Request) throws -> Caller {
        let userID = request.headers[.userID] ?? "anonymous"
        guard Caller.isValidUserID(userID) else {
            throw ServiceError(.unauthorized, "X-User-ID must be 1 to 128 characters of [A-Za-z0-9._@:-]")
        }
        let roles = (request.headers[.userRoles] ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        return Caller(userID: userID, isAdmin: roles.contains("admin"))
    }
}
