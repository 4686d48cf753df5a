import FoundationEssentials
import Hummingbird
import HTTPTypes

/// Gives every request an id — the client's `X-Request-ID` if it is 1–128 characters of
/// `[A-Za-z0-9._-]`, else a new one — and puts it on the response and in the logger's metadata.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        let id = request.headers[.requestID].flatMap { Self.isSane($0) ? $0 : nil } ?? UUID().lowercased
        context.requestID = id
        context.logger[metadataKey: "request.id"] = .string(id)
        var response = try await next(request, context)
        response.headers[.requestID] = id
        return response
    }

    static func isSane(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    return true
                default: return false
                }
            }
    }
}

extension HTTPField.Name {
    static let requestID = Self("X-Request-ID")!
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
    static let userID = Self("X-User-ID")!
    static let userRoles = Self("X-User-Roles")!
    static let lastEventID = Self("Last-Event-ID")!
}
