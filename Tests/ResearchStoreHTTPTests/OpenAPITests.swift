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

    @Test("/docs renders the document with nothing loaded from elsewhere, building DOM nodes, never HTML")
    func docsPage() async throws {
        try await withAPI { client in
            let response = try await client.call(.get, "/docs", as: "anyone")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
            let page = String(buffer: response.body)
            #expect(page.hasPrefix("<!doctype html>") && page.hasSuffix("</html>"))
            // Self-contained: no script, style, image or font from anywhere, not even from this server.
            for reference in ["http://", "https://", "src=", "<link", "@import", "url("] {
                #expect(!page.contains(reference), "the page refers to \(reference)")
            }
            // The renderer: it loads the document, follows references, renders Markdown, draws schema trees.
            for part in [#"fetch("/openapi.json")"#, "function deref(", "function flatten(", "function md(", "function children("] {
                #expect(page.contains(part), "the renderer lacks \(part)")
            }
            // Text from the document only ever becomes text nodes.
            for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
                #expect(!page.contains(sink), "the page uses \(sink)")
            }
        }
    }

    /// What `/docs` relies on: every `$ref` names a part of the document (the page would say
    /// "Unresolved reference") and every description closes its code spans (else a raw backtick shows).
    @Test("every $ref resolves and every description closes its `code` spans")
    func referencesResolve() async throws {
        try await withAPI { client in
            let document = try json(try await client.call(.get, "/openapi.json", as: "anyone"))
            var references = 0
            func visit(_ value: Any, at path: String) {
                if let object = value as? [String: Any] {
                    for (key, child) in object {
                        if key == "$ref", let reference = child as? String {
                            references += 1
                            #expect(Self.resolve(reference, in: document) != nil, "\(path): \(reference) does not resolve")
                        } else if key == "description" || key == "summary", let text = child as? String {
                            #expect(text.filter { $0 == "`" }.count % 2 == 0, "\(path).\(key) has an odd number of backticks")
                        }
                        visit(child, at: path + "/" + key)
                    }
                } else if let array = value as? [Any] {
                    for (index, child) in array.enumerated() { visit(child, at: path + "/\(index)") }
                }
            }
            visit(document, at: "#")
            #expect(references > 100)
        }
    }

    /// The part of `document` a local JSON Pointer reference (`#/components/...`) names.
    static func resolve(_ reference: String, in document: [String: Any]) -> Any? {
        guard reference.hasPrefix("#/") else { return nil }
        var current: Any? = document
        for token in reference.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            current = (current as? [String: Any])?[key]
        }
        return current
    }
}
