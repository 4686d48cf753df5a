import HTTPTypes
import Hummingbird
import ResearchStore

/// Runs a create or ingest handler under the contract's `Idempotency-Key` rules: without the
/// header it simply runs; with it, a repeat returns the first response with
/// `Idempotent-Replayed: true` and writes nothing.
struct IdempotentCreate {
    let idempotency: IdempotencyService

    func run(
        _ request: Request, context: AppRequestContext, route: String, limit: Int = BodyLimits.standard,
        _ handler: (Caller, JSONValue) async throws -> JSONResponse
    ) async throws -> Response {
        let caller = try context.requireCaller()
        let key = request.headers[.idempotencyKey]
        let bytes = try await JSONRequest.bytes(request, limit: limit)
        guard let key else {
            return encode(try await handler(caller, try JSONRequest.parse(bytes)))
        }
        let scope = IdempotencyService.Scope(userID: caller.userID, method: request.method.rawValue, route: route, key: key)
        switch try await idempotency.claim(scope, body: bytes) {
        case .replay(let stored):
            var headers = HTTPFields()
            for (name, value) in stored.headers { if let name = HTTPField.Name(name) { headers[name] = value } }
            headers[.idempotentReplayed] = "true"
            return Response(
                status: HTTPResponse.Status(code: stored.status), headers: headers,
                body: .init(byteBuffer: ByteBuffer(bytes: stored.body)))
        case .claimed:
            let result: JSONResponse
            do {
                result = try await handler(caller, try JSONRequest.parse(bytes))
            } catch {
                try? await idempotency.release(scope)
                throw error
            }
            let body = result.body.serializedBytes
            var headers = ["Content-Type": "application/json"]
            if let location = result.headers[.location] { headers["Location"] = location }
            // The write has committed: answer it even if recording the key fails (a retry then
            // meets an in-flight key until it counts as abandoned).
            try? await idempotency.complete(scope, response: .init(status: Int(result.status.code), headers: headers, body: body))
            return encode(result, body: body)
        }
    }

    private func encode(_ result: JSONResponse, body: [UInt8]? = nil) -> Response {
        var headers = result.headers
        headers[.contentType] = "application/json"
        let bytes = body ?? result.body.serializedBytes
        return Response(status: result.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
