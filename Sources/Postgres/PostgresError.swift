/// An error from the database layer.
///
/// It keeps everything PostgreSQL said (SQLSTATE, severity, message, detail, hint, constraint) for
/// the code that handles it, but its `description` — what ends up in logs and, by accident, in
/// responses — names only the kind, the SQLSTATE and the constraint: never SQL text, bind values
/// or row data, which server messages and details may contain.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of values.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable {
            case invalidConfiguration
            case connectionFailed
            case connectionClosed
            case server
            case decoding
            case copyFailed
            case protocolViolation
            case executorShutDown
            case unrepresentableValue
            case transactionRolledBack
            case concurrentUse
        }

        let base: Base
        private init(_ base: Base) { self.base = base }

        /// The connection string could not be parsed.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// Connecting (or authenticating, or the TLS handshake) failed.
        public static let connectionFailed = Code(.connectionFailed)
        /// An established connection broke: server restart, network cut, or closed by us.
        public static let connectionClosed = Code(.connectionClosed)
        /// PostgreSQL answered with an error; see `sqlState`.
        public static let server = Code(.server)
        /// A column's value could not be decoded as the requested Swift type.
        public static let decoding = Code(.decoding)
        /// `COPY` could not stream its data.
        public static let copyFailed = Code(.copyFailed)
        /// libpq answered in a way the wrapper did not expect.
        public static let protocolViolation = Code(.protocolViolation)
        /// The blocking executor (connect and close threads) was shut down.
        public static let executorShutDown = Code(.executorShutDown)
        /// A bind parameter has no PostgreSQL representation (a `Date` outside `timestamptz`'s
        /// range, NaN or infinite); nothing was sent. The message names the parameter, never its value.
        public static let unrepresentableValue = Code(.unrepresentableValue)
        /// `COMMIT` answered `ROLLBACK`: a statement inside the transaction had failed (and its error
        /// was caught), so nothing was written. Never acknowledge the write.
        public static let transactionRolledBack = Code(.transactionRolledBack)
        /// An operation started on a connection while another one was running on it (two tasks
        /// sharing a connection). Nothing was sent; the running operation is unaffected. A
        /// connection serves one task at a time: lease one per task.
        public static let concurrentUse = Code(.concurrentUse)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The five-character SQLSTATE, e.g. `23505`.
    public var sqlState: String?
    /// Non-localised severity: `ERROR`, `FATAL`, `PANIC`.
    public var severity: String?
    /// PostgreSQL's or libpq's primary message. May contain data: never send it to a client.
    public var message: String?
    public var detail: String?
    public var hint: String?
    /// The violated constraint's name, for mapping to a field.
    public var constraint: String?
    public var table: String?
    public var column: String?
    /// In a pipeline, the zero-based index of the statement that failed.
    public var statementIndex: Int?

    public init(code: Code, message: String? = nil) {
        self.code = code
        self.message = message
    }

    /// The SQLSTATE class (its first two characters), e.g. `23` for integrity violations.
    public var sqlStateClass: String? { sqlState.map { String($0.prefix(2)) } }

    /// True when the connection itself is gone or unusable, as opposed to one statement failing.
    public var isConnectionError: Bool {
        switch code.base {
        case .connectionFailed, .connectionClosed, .executorShutDown: return true
        default:
            guard let sqlState else { return false }
            // 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
            return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
        }
    }

    public var description: String {
        var parts = ["PostgresError(\(code)"]
        if let sqlState { parts.append("sqlstate \(sqlState)") }
        if let constraint { parts.append("constraint \(constraint)") }
        if let column, code == .decoding { parts.append("column \(column)") }
        if let statementIndex { parts.append("statement #\(statementIndex)") }
        return parts.joined(separator: ", ") + ")"
    }

    /// A longer text for operators: adds the server's message, which may contain data.
    /// Log it at debug level only; never return it to a client.
    public var debugDescription: String {
        var text = description
        if let message { text += ": \(message)" }
        if let detail { text += " (detail: \(detail))" }
        if let hint { text += " (hint: \(hint))" }
        return text
    }
}

extension PostgresError {
    static func decoding(column: String, _ message: String) -> PostgresError {
        var error = PostgresError(code: .decoding, message: "column \"\(column)\": \(message)")
        error.column = column
        return error
    }
}
