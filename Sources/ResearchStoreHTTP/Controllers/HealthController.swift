import Hummingbird
import PostgresPool
import ResearchStore

/// `/livez`, `/readyz` and `/db/health`.
struct HealthController {
    let health: HealthService

    func register(with router: Router<some RequestContext>) {
        router.get("/livez", use: live)
        router.get("/readyz", use: ready)
        router.get("/db/health", use: databaseHealth)
    }

    @Sendable func live(_ request: Request, context: some RequestContext) -> JSONResponse {
        JSONResponse(body: .object([("status", .string("ok"))]))
    }

    @Sendable func ready(_ request: Request, context: some RequestContext) async -> JSONResponse {
        let readiness = await health.readiness()
        return okOrUnavailable(readiness.json, isOK: readiness.isReady)
    }

    @Sendable func databaseHealth(_ request: Request, context: some RequestContext) async -> JSONResponse {
        let report = await health.report()
        return okOrUnavailable(report.json, isOK: report.isHealthy)
    }

    /// `200` with `body`, or `503` with `Retry-After` and the same body.
    private func okOrUnavailable(_ body: JSONValue, isOK: Bool) -> JSONResponse {
        JSONResponse(status: isOK ? .ok : .serviceUnavailable, headers: isOK ? [:] : [.retryAfter: "1"], body: body)
    }
}

extension Readiness {
    var json: JSONValue {
        isReady
            ? .object([("status", .string("ready"))])
            : .object([("status", .string("not_ready")), ("reasons", .array(reasons.map(JSONValue.string)))])
    }
}

extension HealthReport {
    /// The contract's shape, in both the `200` and the `503` case.
    var json: JSONValue {
        .object([
            ("status", .string(isHealthy ? "ok" : "unavailable")),
            (
                "database",
                .object([
                    ("reachable", .bool(database.reachable)),
                    ("latency_ms", .double(database.latencyMilliseconds)),
                    ("schema_version", database.schemaVersion.map { .integer($0) } ?? .null),
                ])
            ),
            (
                "pool",
                .object([
                    ("max", .integer(pool.maximum)), ("open", .integer(pool.open)), ("in_use", .integer(pool.inUse)),
                    ("idle", .integer(pool.idle)), ("waiting", .integer(pool.waiting)),
                ])
            ),
            ("version", .string(version)),
            ("uptime_s", .integer(uptimeSeconds)),
            (
                "replicas",
                .array(
                    replicas.map { replica in
                        .object([
                            ("host", .string(replica.host)), ("reachable", .bool(replica.reachable)),
                            ("lag_ms", replica.reachable ? replica.lagMilliseconds.map { .integer($0) } ?? .null : .null),
                        ])
                    })
            ),
        ])
    }
}
