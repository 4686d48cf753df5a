import HTTPTypes
import Hummingbird
import Logging
import Postgres
import PostgresPool
import ResearchStore

/// A problem document.
struct Problem {
    var status: HTTPResponse.Status
    var detail: String
    var fieldErrors: [FieldError] = []
    var currentStatus: String?
    var currentSeq: Int?
    var retryAfterSeconds: Int?
    /// `WWW-Authenticate` of a `401` for a missing or bad token.
    var challenge: String?
    /// Extra headers (e.g. `RateLimit-*` of a `429`).
    var headers: HTTPFields = [:]

    init(status: HTTPResponse.Status, detail: String) {
        self.status = status
        self.detail = detail
    }

    init(_ error: any Error, logger: Logger) {
        switch error {
        case let error as ServiceError:
            self.init(status: Self.status(of: error.kind), detail: error.detail)
            fieldErrors = error.fieldErrors
            currentStatus = error.currentStatus
            currentSeq = error.currentSeq
            retryAfterSeconds = error.retryAfterSeconds ?? (error.kind == .unavailable ? 1 : nil)
        case let error as AuthenticationFailure:
            self.init(status: .unauthorized, detail: error.reason)
            challenge = error.challenge
        case let error as RequestRefusal:
            self.init(status: error.status, detail: error.detail)
            retryAfterSeconds = error.retryAfterSeconds
            headers = error.headers
        case let error as PostgresPoolError:
            logger.warning("no database connection", metadata: ["error": "\(error)"])
            self.init(status: .serviceUnavailable, detail: "the database is busy or unreachable; retry shortly")
            retryAfterSeconds = 1
        case let error as PostgresError where error.isConnectionError:
            logger.warning("database connection failed", metadata: ["error": "\(error)"])
            self.init(status: .serviceUnavailable, detail: "the database is unreachable; retry shortly")
            retryAfterSeconds = 1
        case let error as HTTPError:
            self.init(status: error.status, detail: error.body ?? error.status.reasonPhrase)
            if error.status == .contentTooLarge { detail = "the request body is over the size limit" }
        case is CancellationError:
            self.init(status: .serviceUnavailable, detail: "the request was cancelled")
        default:
            logger.error("unhandled error", metadata: ["error": "\(error)"])
            self.init(status: .internalServerError, detail: "internal error")
        }
    }

    static func status(of kind: ServiceError.Kind) -> HTTPResponse.Status {
        switch kind {
        case .malformed: return .badRequest
        case .invalid: return .unprocessableContent
        case .unauthorized: return .unauthorized
        case .notFound: return .notFound
        case .forbidden: return .forbidden
        case .conflict: return .conflict
        case .tooLarge: return .contentTooLarge
        case .unavailable: return .serviceUnavailable
        }
    }

    func response(requestID: String) -> Response {
        var members: [(key: String, value: JSONValue)] = [
            ("type", .string("about:blank")),
            ("title", .string(status.reasonPhrase)),
            ("status", .number(String(status.code))),
            ("detail", .string(detail)),
            ("request_id", .string(requestID)),
        ]
        if !fieldErrors.isEmpty {
            members.append(
                ("errors", .array(fieldErrors.map { .object([("field", .string($0.field)), ("message", .string($0.message))]) })))
        }
        if let currentStatus { members.append(("current_status", .string(currentStatus))) }
        if let currentSeq { members.append(("current_seq", .number(String(currentSeq)))) }
        var headers = headers
        headers[.contentType] = "application/problem+json"
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        if let challenge { headers[.wwwAuthenticate] = challenge }
        return Response(
            status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(members).serialized)))
    }
}
