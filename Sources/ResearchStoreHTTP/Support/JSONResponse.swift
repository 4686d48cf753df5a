import Hummingbird
import ResearchStore

/// A JSON response from a `JSONValue`, with the contract's status and headers.
struct JSONResponse: ResponseGenerator {
    var status: HTTPResponse.Status = .ok
    var headers: HTTPFields = [:]
    var body: JSONValue

    func response(from request: Request, context: some RequestContext) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body.serializedBytes)))
    }
}

/// A JSON response whose body is already written as bytes (see `ContextWindow.jsonBytes`).
struct JSONBytesResponse: ResponseGenerator {
    var bytes: [UInt8]

    func response(from request: Request, context: some RequestContext) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
