import HTTPTypes
import Hummingbird
import ResearchStore

/// Runs a create or ingest handler under the contract's `Idempotency-Key` rules: without the
/// header it simply runs; with it, the handler's writes, the key and the recorded response commit
/// together, and a repeat returns the first response with `Idempotent-Replayed: true` and writes
/// nothing. The key and the JSON are checked before anything touches the database.
struct IdempotentCreate {
    let idempotency: IdempotencyService

    func run(
        _ request: Request, context: AppRequestContext, route: String, limit: Int = BodyLimits.standard,
        _ handler: (Caller, JSONValue) async throws -> JSONResponse
    ) async throws -> Response {
        let caller = try context.requireCaller()
        let key = request.headers[.idempotencyKey]
        if let key { try IdempotencyService.validate(key: key) }
        let bytes = try await JSONRequest.bytes(request, limit: limit)
        let json = try JSONRequest.parse(bytes)
        guard let key else { return encode(try await handler(caller, json)) }
        let scope = IdempotencyService.Scope(userID: caller.userID, method: request.method.rawValue, route: route, key: key)
        let outcome = try await idempotency.perform(scope, body: bytes) {
            let result = try await handler(caller, json)
            var headers = ["Content-Type": "application/json"]
            if let location = result.headers[.location] { headers["Location"] = location }
            return .init(status: Int(result.status.code), headers: headers, body: result.body.serializedBytes)
        }
        switch outcome {
        case .performed(let stored): return response(stored, replayed: false)
        case .replayed(let stored): return response(stored, replayed: true)
        }
    }

    private func response(_ stored: IdempotencyService.StoredResponse, replayed: Bool) -> Response {
        var headers = HTTPFields()
        for (name, value) in stored.headers { if let name = HTTPField.Name(name) { headers[name] = value } }
        if replayed { headers[.idempotentReplayed] = "true" }
        return Response(
            status: HTTPResponse.Status(code: stored.status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: stored.body)))
    }

    private func encode(_ result: JSONResponse) -> Response {
        var headers = result.headers
        headers[.contentType] = "application/json"
        let bytes = result.body.serializedBytes
        return Response(status: result.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
