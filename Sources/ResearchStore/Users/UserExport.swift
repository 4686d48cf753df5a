import FoundationEssentials
import Postgres
import PostgresPool

/// One piece of a user's export, handed over in document order:
/// `user`; then per session `session`, one or more `messages` pages, one or more `research`
/// pages, `sessionEnd`; then one or more pages each of `feedback`, `llmUsage` and
/// `analyticsEvents`, in that order. A page may be empty (the first of each kind is always sent).
public enum UserExportPart: Sendable {
    case user(User)
    case session(Session)
    case messages([Message])
    case research([ResearchRequest])
    case sessionEnd
    case feedback([Feedback])
    case llmUsage([LLMUsage])
    case analyticsEvents([AnalyticsEvent])
}

/// Everything stored of one user, read page by page from one consistent snapshot (a repeatable
/// read, read-only transaction) and handed to a sink as it is read: memory stays bounded by one
/// page, however much the user has.
public struct UserExport: Sendable {
    let pool: PostgresPool
    public let userID: String
    /// Rows per query (the largest page of messages is this many times 256 KiB of content).
    let pageSize: Int
    /// Held until the export has been written (or dropped unwritten).
    let slot: ExportSlot?

    init(pool: PostgresPool, userID: String, pageSize: Int = 100, slot: ExportSlot? = nil) {
        self.pool = pool
        self.userID = userID
        self.pageSize = pageSize
        self.slot = slot
    }

    /// Reads the export and hands each part to `sink`, which may suspend (back-pressure). Throws
    /// `notFound` if the user was erased after the export was granted.
    public func write(to sink: (UserExportPart) async throws -> Void) async throws {
        defer { slot?.end() }
        try await database(table: "users") {
            try await pool.withConnection { connection in
                try await connection.withTransaction { connection in
                    try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    guard let user = try await User.find(id: userID, on: connection) else { throw ServiceError.notFound("user") }
                    try await sink(.user(user))
                    try await writeSessions(on: connection, to: sink)
                    try await pages(to: sink, wrap: UserExportPart.feedback) { last in
                        try await FeedbackStore.exportPage(userID: userID, after: last, limit: pageSize, on: connection)
                    }
                    try await pages(to: sink, wrap: UserExportPart.llmUsage) { last in
                        try await LLMUsageStore.exportPage(userID: userID, after: last, limit: pageSize, on: connection)
                    }
                    try await pages(to: sink, wrap: UserExportPart.analyticsEvents) { last in
                        try await AnalyticsStore.exportPage(userID: userID, after: last, limit: pageSize, on: connection)
                    }
                }
            }
        }
    }

    private func writeSessions(on connection: PostgresConnection, to sink: (UserExportPart) async throws -> Void) async throws {
        var last: Session?
        while true {
            let sessions = try await SessionStore.exportPage(userID: userID, after: last, limit: pageSize, on: connection)
            for session in sessions {
                try await sink(.session(session))
                try await pages(to: sink, wrap: UserExportPart.messages) { last in
                    try await MessageStore.exportPage(
                        sessionID: session.id, afterSeq: last?.seq ?? 0, limit: pageSize, on: connection)
                }
                try await pages(to: sink, wrap: UserExportPart.research) { last in
                    try await ResearchRequestStore.exportPage(sessionID: session.id, after: last, limit: pageSize, on: connection)
                }
                try await sink(.sessionEnd)
            }
            guard sessions.count == pageSize else { return }
            last = sessions.last
        }
    }

    /// Fetches page after page (each after the previous page's last item) until one comes back
    /// short, handing each to the sink; the first page is handed over even when empty.
    private func pages<Item>(
        to sink: (UserExportPart) async throws -> Void, wrap: ([Item]) -> UserExportPart,
        fetch: (Item?) async throws -> [Item]
    ) async throws {
        var last: Item?
        while true {
            let page = try await fetch(last)
            try await sink(wrap(page))
            guard page.count == pageSize else { return }
            last = page.last
        }
    }
}
