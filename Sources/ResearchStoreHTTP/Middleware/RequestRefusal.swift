import HTTPTypes

/// A request turned away before it reached a handler: rate limited (`429`), overloaded (`503`),
/// URL too long (`414`), body too slow (`408`).
struct RequestRefusal: Error {
    var status: HTTPResponse.Status
    var detail: String
    var retryAfterSeconds: Int?
    var headers: HTTPFields = [:]
}
