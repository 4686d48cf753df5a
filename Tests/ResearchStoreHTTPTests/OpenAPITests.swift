import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Postgres
import PostgresPool
import ResearchStore
import ResearchStoreHTTP
import TestSupport
import Testing

@Suite("OpenAPI document")
struct OpenAPITests {
    /// `METHOD /path/{param}` for every route the router serves.
    func servedRoutes() throws -> Set<String> {
        let connection = try PostgresConfiguration(connectionString: "host=127.0.0.1 port=1")
        let pool = PostgresPool(configuration: .init(), connection: connection, logger: TestDatabase.logger)
        let router = buildRouter(health: HealthService(
                pool: pool, probe: DatabaseProbe(configuration: pool.connectionConfiguration, logger: Logger(label: "test")),
                shutdown: ShutdownState(), version: "test"), pool: pool)
        return Set(
            router.routes.map { route in
                // `**` (the rest of the path) is only used for cache keys, which may hold `/`.
                let path = "\(route.path)".split(separator: "/").map { part in
                    part == "**" ? "{key}" : part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
                }
                return "\(route.method) /" + path.joined(separator: "/")
            })
    }

    @Test("the router serves exactly the routes the document describes")
    func routesAgree() async throws {
        let served = try servedRoutes()
        try await withAPI { client in
            let response = try await client.call(.get, "/openapi.json", as: "anyone")
            #expect(response.status == .ok)
            let document = try json(response)
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            let methods: Set<String> = ["get", "post", "put", "patch", "delete"]
            let documented = Set(
                paths.flatMap { path, operations in
                    operations.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" }
                })
            #expect(documented.subtracting(served).sorted() == [], "documented but not served")
            #expect(served.subtracting(documented).sorted() == [], "served but not documented")
            #expect(served.count >= 20)
        }
    }

    @Test("/openapi.yaml is openapi.yaml byte for byte (run scripts/openapi-gen after editing it)")
    func yamlIsCurrent() async throws {
        let file = try String(contentsOfFile: try TestDatabase.repositoryRoot() + "/openapi.yaml", encoding: .utf8)
        try await withAPI { client in
            let response = try await client.call(.get, "/openapi.yaml", as: "anyone")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/yaml")
            #expect(String(buffer: response.body) == file)
        }
    }

    @Test("/docs renders the document with nothing loaded from elsewhere")
    func docsPage() async throws {
        try await withAPI { client in
            let response = try await client.call(.get, "/docs", as: "anyone")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
            let page = String(buffer: response.body)
            #expect(page.contains(#"fetch("/openapi.json")"#))
            #expect(!page.contains("http://") && !page.contains("https://") && !page.contains("src="))
        }
    }
}
