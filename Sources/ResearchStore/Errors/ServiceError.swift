/// One bad input field: a JSON path with indices (`messages[2].role`) and what is wrong with it.
public struct FieldError: Sendable, Equatable, Codable {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}

/// An error of the service layer, with a kind the HTTP layer maps to a status code.
///
/// `detail` is written for the API's client: it never contains SQL, stack traces or secrets.
public struct ServiceError: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The body is not JSON, not an object, or not sent as JSON (400).
        case malformed
        /// One or more fields are missing, of the wrong type or out of range (422).
        case invalid
        /// No or bad credentials (401).
        case unauthorized
        /// The id is unknown, or the caller may not see it (404).
        case notFound
        /// The caller may not do this (403).
        case forbidden
        /// A duplicate or an invalid state change (409).
        case conflict
        /// The body is over the size limit (413).
        case tooLarge
        /// The database cannot be reached or no connection came free in time (503).
        case unavailable
    }

    public var kind: Kind
    public var detail: String
    public var fieldErrors: [FieldError]
    /// For a refused research transition: the status the request is in.
    public var currentStatus: String?
    /// For a refused optimistic append: the session's last seq (0 when it is empty).
    public var currentSeq: Int?
    /// Seconds a client should wait before retrying (409 in flight, 503).
    public var retryAfterSeconds: Int?

    public init(
        _ kind: Kind, _ detail: String, fieldErrors: [FieldError] = [], currentStatus: String? = nil,
        currentSeq: Int? = nil, retryAfterSeconds: Int? = nil
    ) {
        self.kind = kind
        self.detail = detail
        self.fieldErrors = fieldErrors
        self.currentStatus = currentStatus
        self.currentSeq = currentSeq
        self.retryAfterSeconds = retryAfterSeconds
    }

    public static func invalid(_ errors: [FieldError]) -> ServiceError {
        ServiceError(
            .invalid, errors.count == 1 ? "1 field is invalid" : "\(errors.count) fields are invalid", fieldErrors: errors)
    }

    public static func invalid(field: String, _ message: String) -> ServiceError {
        invalid([FieldError(field: field, message: message)])
    }

    public static func notFound(_ what: String) -> ServiceError {
        ServiceError(.notFound, "\(what) not found")
    }
}
