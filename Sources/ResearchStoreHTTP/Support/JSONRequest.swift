import Hummingbird
import ResearchStore

/// Reads a request body as a JSON object: `application/json` (else `400`), at most `limit`
/// bytes (else `413`), well-formed (else `400`), storable (depth, `\u0000`, numbers: else `422`).
enum JSONRequest {
    static func object(_ request: Request, limit: Int = BodyLimits.standard) async throws -> JSONValue {
        try parse(try await bytes(request, limit: limit))
    }

    /// The raw body, after the content-type and size checks.
    static func bytes(_ request: Request, limit: Int) async throws -> [UInt8] {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") else {
            throw ServiceError(.malformed, "the body must be sent as application/json")
        }
        let timeout = BodyLimits.readTimeout
        return try await withThrowingTaskGroup(of: [UInt8].self) { group in
            group.addTask {
                let body = request.body
                do {
                    return Array(try await body.collect(upTo: limit).readableBytesView)
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    throw ServiceError(.tooLarge, "the request body is over the limit of \(limit) bytes")
                }
            }
            group.addTask {
                try await TimerSleep.sleep(for: timeout)
                throw RequestRefusal(
                    status: .requestTimeout, detail: "the request body did not arrive within \(timeout.components.seconds) s",
                    headers: [.connection: "close"])
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            if error.isSyntax { throw ServiceError(.malformed, "the body is not valid JSON: \(error.message)") }
            throw ServiceError.invalid(field: error.path, error.message)
        }
        guard case .object = value else { throw ServiceError(.malformed, "the body must be a JSON object") }
        return value
    }
}

extension Request {
    /// The query string as a dictionary (the last value of a repeated name wins).
    var queryValues: [String: String] {
        var values: [String: String] = [:]
        for (name, value) in uri.queryParameters { values[String(name)] = String(value) }
        return values
    }
}
