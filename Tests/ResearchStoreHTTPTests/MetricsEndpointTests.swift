import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import ResearchStoreHTTP
import TestSupport
import Testing

@Suite("Metrics")
struct MetricsEndpointTests {
    @Test("/metrics counts requests by route template and status, and reports the pool, queries and ingest")
    func exposition() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            _ = try await client.call(.get, "/db/sessions/\(session)", as: user)
            _ = try await client.call(.get, "/db/sessions/\(UUID())", as: user)
            _ = try await client.call(
                .post, "/db/messages/batch", as: user,
                json: #"{"session_id": "\#(session)", "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}"#)
            _ = try await client.call(.get, "/no/such/route", as: user)
            let response = try await client.call(.get, "/metrics", as: user)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = String(buffer: response.body)
            for line in [
                #"http_requests_total{method="POST",route="/db/sessions/create",status="201"} 1"#,
                #"http_requests_total{method="GET",route="/db/sessions/{id}",status="200"} 1"#,
                #"http_requests_total{method="GET",route="/db/sessions/{id}",status="404"} 1"#,
                #"rows_ingested_total{table="messages"} 2"#,
                #"db_pool_connections{state="max"} 8"#,
            ] {
                #expect(text.contains(line), "missing \(line) in:\n\(text)")
            }
            #expect(text.contains("http_request_duration_seconds_bucket{"))
            #expect(text.contains("db_query_duration_seconds_count"))
            #expect(text.contains(#"db_pool_connections{state="open"}"#))
            #expect(text.contains("db_pool_wait_seconds"))
            // The raw path never becomes a label: one series per route template.
            #expect(!text.contains(session))
        }
    }

    @Test("database errors are counted by SQLSTATE class")
    func errorsBySQLStateClass() async throws {
        let metrics = AppMetrics()
        let connection = try await TestDatabase.connect { configuration in
            configuration.observer = { duration, error in metrics.recordQuery(duration, error: error) }
        }
        _ = try? await connection.query("SELECT 1/0")
        _ = try? await connection.query("SELEC 1")
        _ = try await connection.query("SELECT 1")
        await connection.close()
        let text = metrics.registry.emitToString()
        #expect(text.contains(#"db_errors_total{sqlstate_class="22"} 1"#), "\(text)")
        #expect(text.contains(#"db_errors_total{sqlstate_class="42"} 1"#))
        #expect(text.contains("db_query_duration_seconds_count 3"))
    }
}
