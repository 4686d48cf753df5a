import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// `/dashboard` and its assets: served by the server itself, public (they hold no data), with the
/// right content types, a policy that keeps the browser on this origin, and no reference to any
/// other host. The page itself is driven in headless Chromium by scripts/test-dashboard.
@Suite("Admin dashboard")
struct DashboardEndpointTests {
    static let assets: [(path: String, contentType: String)] = [
        ("/dashboard", "text/html; charset=utf-8"),
        ("/dashboard/app.js", "text/javascript; charset=utf-8"),
        ("/dashboard/app.css", "text/css; charset=utf-8"),
    ]

    @Test("the page, its script and style sheet: content types, no credentials needed, nothing from other hosts")
    func servedOffline() async throws {
        try await withAPI(settings: try await TokenMinter.settings()) { client in
            var served: [String: String] = [:]
            for (path, contentType) in Self.assets {
                let response = try await client.call(.get, path, token: nil)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType] == contentType, "\(path)")
                let policy = try #require(response.headers[.contentSecurityPolicy], "\(path)")
                #expect(policy.contains("default-src 'none'") && policy.contains("connect-src 'self'") && policy.contains("script-src 'self'"))
                let text = String(buffer: response.body)
                #expect(!text.isEmpty)
                for reference in ["http://", "https://", "//cdn", "@import", "url("] {
                    #expect(!text.lowercased().contains(reference), "\(path) refers to \(reference)")
                }
                served[path] = text
            }
            let page = try #require(served["/dashboard"])
            #expect(page.hasPrefix("<!doctype html>"))
            // The shell loads only its own assets, and tells the script the auth mode (no data).
            #expect(page.contains(#"<script src="/dashboard/app.js" defer></script>"#))
            #expect(page.contains(#"<link rel="stylesheet" href="/dashboard/app.css">"#))
            #expect(page.contains(#"data-auth="jwt""#) && !page.contains("{{AUTH_MODE}}"))
            for chart in ["messages-per-day", "sessions-per-day", "llm-calls", "llm-tokens", "llm-cost", "llm-latency", "feedback",
                "research-outcomes", "research-durations", "event-types"]
            {
                #expect(page.contains(#"data-chart="\#(chart)""#), "the page lacks the chart \(chart)")
            }
            let script = try #require(served["/dashboard/app.js"])
            for route in ["/db/admin/stats/activity", "/db/admin/stats/llm", "/db/admin/stats/feedback", "/db/admin/stats/telemetry"] {
                #expect(script.contains(route), "the script does not call \(route)")
            }
            #expect(script.contains("sessionStorage") && script.contains("Authorization"))
            // Data from the server only ever becomes text nodes and attributes.
            for sink in ["outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
                #expect(!script.contains(sink), "the script uses \(sink)")
            }
        }
    }

    @Test("in none mode the page asks for a user id instead of a token")
    func noneMode() async throws {
        try await withAPI { client in
            let page = String(buffer: try await client.call(.get, "/dashboard", as: "anyone").body)
            #expect(page.contains(#"data-auth="none""#))
        }
    }

    @Test("the data behind the page stays admin only")
    func dataIsAdminOnly() async throws {
        let minter = await TokenMinter()
        try await withAPI(settings: try await TokenMinter.settings()) { client in
            #expect(try await client.call(.get, "/db/admin/stats/activity", token: nil).status == .unauthorized)
            let user = try await minter.token(for: uniqueUser())
            #expect(try await client.call(.get, "/db/admin/stats/activity", token: user).status == .forbidden)
            let admin = try await minter.token(for: uniqueUser("admin"), admin: true)
            #expect(try await client.call(.get, "/db/admin/stats/activity", token: admin).status == .ok)
        }
    }
}
