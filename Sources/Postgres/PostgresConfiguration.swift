import CLibPQ
import FoundationEssentials

/// How to reach PostgreSQL: a libpq connection string plus a few defaults of our own.
///
/// The string is a `postgresql://` URL or a `key=value` string; libpq parses it, so every libpq
/// parameter passes through (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`, `connect_timeout`,
/// `target_session_attrs`, several hosts, …). The password is kept only in the parsed parameters
/// handed to libpq and never appears in `description`.
public struct PostgresConfiguration: Sendable, CustomStringConvertible {
    /// The parsed parameters with values, in libpq's order.
    public private(set) var parameters: [(keyword: String, value: String)]
    /// Used when the string names no `application_name`.
    public var applicationName = "research-store"
    /// Used when the string names no `connect_timeout`.
    public var connectTimeoutSeconds = 5
    /// Server-side backstop for runaway statements, sent in the startup packet. Leave `nil` behind
    /// a pooler that rejects startup options and set it on the role instead.
    public var statementTimeout: Duration?
    /// Prepare each distinct statement once per connection (named statements, parsed and planned
    /// once). Must be off behind a transaction-mode pooler such as PgBouncer, where the server
    /// connection behind ours changes between transactions: then every statement is unnamed.
    /// Pipelines always send unnamed statements.
    public var usePreparedStatements = true
    /// The most statements one connection keeps prepared; beyond it the least recently used is
    /// deallocated, so SQL assembled at run time cannot grow the server's memory without end.
    public var maximumPreparedStatements = 256
    /// Told of every statement, pipeline and COPY: how long it took and how it failed, if it did.
    /// For metrics; called by the task running the statement, right after it, so it must be quick.
    public var observer: (@Sendable (Duration, PostgresError?) -> Void)?

    /// Parses `connectionString`; throws `invalidConfiguration` without echoing the string.
    public init(connectionString: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &errorMessage) else {
            var reason = "the connection string could not be parsed"
            if let errorMessage {
                let text = String(cString: errorMessage)
                PQfreemem(errorMessage)
                // Only libpq's "invalid connection option" message is safe to repeat: it names a keyword.
                if text.hasPrefix("invalid connection option") { reason = text.trimmingTrailingNewlines() }
            }
            throw PostgresError(code: .invalidConfiguration, message: reason)
        }
        defer { PQconninfoFree(options) }
        var parsed: [(keyword: String, value: String)] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                parsed.append((String(cString: keyword), String(cString: value)))
            }
            option += 1
        }
        parameters = parsed
    }

    /// The value of one parameter, if the string set it.
    public func value(of keyword: String) -> String? {
        parameters.first { $0.keyword == keyword }?.value
    }

    /// True when libpq will refuse to connect without TLS (`sslmode` require, verify-ca or
    /// verify-full); the default `prefer` may silently fall back to plain text.
    public var usesTLS: Bool {
        ["require", "verify-ca", "verify-full"].contains(value(of: "sslmode") ?? ProcessInfo.processInfo.environment["PGSSLMODE"] ?? "prefer")
    }

    /// True when every host is a Unix socket or a loopback address (no network to cross).
    public var isLocal: Bool {
        let hosts = (value(of: "hostaddr") ?? value(of: "host") ?? ProcessInfo.processInfo.environment["PGHOST"] ?? "")
            .split(separator: ",").map { $0.trimmingWhitespace() }
        return hosts.allSatisfy { host in
            host.isEmpty || host.hasPrefix("/") || host.hasPrefix("@") || host == "localhost" || host == "::1" || host.hasPrefix("127.")
        }
    }

    /// TCP settings used when the string does not set them, so a dead peer or a silent network
    /// (no RST, e.g. a failover behind a NAT) breaks the connection within about a minute instead
    /// of wedging it for the kernel's two hours: probes after 30 s idle, every 10 s, 3 misses; and
    /// unacknowledged data for 30 s (`tcp_user_timeout`, ms) ends it. libpq ignores them for Unix sockets.
    static let tcpDefaults: [(keyword: String, value: String)] = [
        ("keepalives", "1"), ("keepalives_idle", "30"), ("keepalives_interval", "10"),
        ("keepalives_count", "3"), ("tcp_user_timeout", "30000"),
    ]

    /// The keyword/value pairs given to `PQconnectdbParams`: the parsed ones plus our defaults.
    var connectParameters: [(keyword: String, value: String)] {
        var result = parameters
        for (keyword, value) in Self.tcpDefaults where self.value(of: keyword) == nil {
            result.append((keyword, value))
        }
        if value(of: "application_name") == nil {
            result.append(("fallback_application_name", applicationName))
        }
        if value(of: "connect_timeout") == nil {
            result.append(("connect_timeout", String(connectTimeoutSeconds)))
        }
        if let statementTimeout {
            let milliseconds = statementTimeout.components.seconds * 1000
                + statementTimeout.components.attoseconds / 1_000_000_000_000_000
            let setting = "-c statement_timeout=\(milliseconds)"
            if let index = result.firstIndex(where: { $0.keyword == "options" }) {
                result[index].value += " " + setting
            } else {
                result.append(("options", setting))
            }
        }
        return result
    }

    /// The parameters without secrets, for logs: `host=… port=… dbname=… user=… sslmode=…`.
    public var description: String {
        let secret: Set<String> = ["password", "sslpassword"]
        return parameters
            .filter { !secret.contains($0.keyword) }
            .map { "\($0.keyword)=\($0.value)" }
            .joined(separator: " ")
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last?.isNewline == true { text.removeLast() }
        return text
    }
}
