import FoundationEssentials
import Logging
import Postgres
import ResearchStore

/// How an import runs.
public struct ImportOptions: Sendable {
    /// Read and validate only; the summary says what would be imported.
    public var dryRun = false
    /// Stop at the first bad row, with nothing written (the whole source is validated first).
    public var strict = false
    /// How messages are counted (`TOKEN_ENCODING`), as the server would count them.
    public var counting: TokenCountingMode = .default
    /// A batch (one transaction) closes after this many messages or sessions, whichever first;
    /// a session is never split.
    public var batchMessages = 20_000
    public var batchSessions = 2_000
    /// Concurrent token-counting tasks.
    public var countingLanes = 2
    /// Connections writing batches side by side.
    public var writers = 2

    public init() {}
}

/// Runs a reader into the database: batches of whole sessions, read, checked against what is
/// present (one connection) and counted while earlier batches are written (`writers` more).
public struct Importer {
    let format: String
    let makeReader: () throws -> any ImportReader
    let options: ImportOptions
    let database: PostgresConfiguration
    let logger: Logger

    public init(
        format: String, options: ImportOptions, database: PostgresConfiguration, logger: Logger,
        makeReader: @escaping () throws -> any ImportReader
    ) {
        self.format = format
        self.options = options
        self.database = database
        self.logger = logger
        self.makeReader = makeReader
    }

    /// What was done; `aborted` is set when `--strict` met a bad row (then nothing was written).
    public struct Outcome: Sendable {
        public var report: ImportReport
        public var aborted: Bool
        public var elapsed: Duration
    }

    public func run(progress: ImportProgress) async throws -> Outcome {
        let clock = ContinuousClock()
        let start = clock.now
        if options.strict {
            let report = try validate()
            if report.hasBadRows { return Outcome(report: report, aborted: true, elapsed: clock.now - start) }
        }
        let executor = BlockingExecutor()
        let checker = ImportWriter(connection: try await PostgresConnection.connect(configuration: database, executor: executor, logger: logger))
        var writers: [ImportWriter] = []
        do {
            if !options.dryRun {
                for _ in 0..<max(1, options.writers) {
                    writers.append(
                        ImportWriter(connection: try await PostgresConnection.connect(configuration: database, executor: executor, logger: logger)))
                }
            }
            let report = try await importAll(checker: checker, writers: writers, progress: progress)
            try await writers.first?.flush()
            await checker.connection.close()
            for writer in writers { await writer.connection.close() }
            return Outcome(report: report, aborted: false, elapsed: clock.now - start)
        } catch {
            await checker.connection.close()
            for writer in writers { await writer.connection.close() }
            throw error
        }
    }

    /// A batch being written, and on which writer.
    private struct Writing {
        var task: Task<[ImportTable: Int], any Error>
        var batch: PreparedBatch
        var writer: Int
    }

    /// Reads batch after batch and hands each to a free writer: batches of sessions go to the
    /// writers side by side (their sessions are distinct, and each batch inserts the users it
    /// needs with `ON CONFLICT DO NOTHING`, which waits for another writer's uncommitted insert);
    /// a batch of other rows, which may refer to any earlier session, waits until every earlier
    /// batch is committed.
    private func importAll(checker: ImportWriter, writers: [ImportWriter], progress: ImportProgress) async throws -> ImportReport {
        for writer in writers { try await writer.prepareSession() }
        let counting = try MessageCounting(mode: options.counting)
        let reader = try makeReader()
        progress.start(totals: try reader.totals())
        var report = ImportReport()
        var state = BatchState()
        var inFlight: [Writing] = []
        func finish(_ writing: Writing, _ report: inout ImportReport) async throws {
            record(try await writing.task.value, for: writing.batch, in: &report)
        }
        do {
            while true {
                let items = try readBatch(reader, report: &report)
                if items.isEmpty { break }
                let prepared = try await prepare(items, state: &state, report: &report, checker: checker, counting: counting)
                guard !writers.isEmpty else {
                    record(nil, for: prepared, in: &report)
                    progress.update(report)
                    continue
                }
                // A free writer: the oldest batch's, once it is done; all of them before a batch of rows.
                while inFlight.count >= writers.count || (!prepared.rows.isEmpty && !inFlight.isEmpty) {
                    try await finish(inFlight.removeFirst(), &report)
                }
                let busy = Set(inFlight.map(\.writer))
                let free = writers.indices.first { !busy.contains($0) }!
                let writer = writers[free]
                inFlight.append(Writing(task: Task { try await writer.write(prepared) }, batch: prepared, writer: free))
                progress.update(report)
            }
            while !inFlight.isEmpty { try await finish(inFlight.removeFirst(), &report) }
        } catch {
            // Let the other writers end their transactions before the connections close.
            for writing in inFlight { _ = try? await writing.task.value }
            throw error
        }
        progress.finish(report)
        return report
    }

    /// `--strict`'s first pass: reads the source up to its first bad row, writing nothing.
    private func validate() throws -> ImportReport {
        let reader = try makeReader()
        var report = ImportReport()
        while !report.hasBadRows, try reader.next(report: &report) != nil {}
        return report
    }

    /// Items up to the batch's limits (whole sessions).
    private func readBatch(_ reader: any ImportReader, report: inout ImportReport) throws -> [ImportItem] {
        var items: [ImportItem] = []
        var messages = 0
        var sessions = 0
        while messages < options.batchMessages, sessions < options.batchSessions, items.count < options.batchSessions * 4,
            let item = try reader.next(report: &report)
        {
            items.append(item)
            if case .session(let session) = item {
                sessions += 1
                messages += session.messages.count
            }
        }
        return items
    }

    /// What the run has met so far across batches.
    private struct BatchState {
        /// Owners already handled (their row is written or present).
        var users: Set<String> = []
    }

    /// The batch without what is present already (counted so), its messages counted.
    private func prepare(
        _ items: [ImportItem], state: inout BatchState, report: inout ImportReport, checker: ImportWriter, counting: MessageCounting
    ) async throws -> PreparedBatch
    {
        var users: [String: ImportedUser] = [:]
        var given: Set<String> = []
        var sessions: [ImportedSession] = []
        var rows: [ImportedRow] = []
        for item in items {
            switch item {
            case .user(let user):
                // As the source keeps it: never widened by the sessions' times.
                users[user.id] = user
                given.insert(user.id)
            case .session(let session):
                sessions.append(session)
                guard !given.contains(session.userID) else { continue }
                let last = session.counters.lastMessageAt ?? session.updatedAt
                var user = users[session.userID] ?? ImportedUser(id: session.userID, firstSeen: session.createdAt, lastSeen: last)
                user.firstSeen = min(user.firstSeen, session.createdAt)
                user.lastSeen = max(user.lastSeen, last, user.firstSeen)
                users[session.userID] = user
            case .row(let row):
                rows.append(row)
                guard let owner = row.owner, !given.contains(owner.id) else { continue }
                var user = users[owner.id] ?? owner
                user.firstSeen = min(user.firstSeen, owner.firstSeen)
                user.lastSeen = max(user.lastSeen, owner.lastSeen)
                users[owner.id] = user
            }
        }
        let newUsers = users.keys.filter { !state.users.contains($0) }
        state.users.formUnion(newUsers)
        report.read(.users, newUsers.count)
        let presentUsers = try await checker.existingUsers(newUsers)
        report[.users].alreadyPresent += presentUsers.count
        let presentSessions = try await checker.existingSessions(sessions.map(\.id))
        var batch = PreparedBatch(
            users: users.values.filter { !presentUsers.contains($0.id) }.sorted { $0.id < $1.id }, newUsers: newUsers.count - presentUsers.count)
        for session in sessions where presentSessions.contains(session.id) {
            report[.sessions].alreadyPresent += 1
            report[.messages].alreadyPresent += session.messages.count
            for row in session.rows {
                report.read(row.table)
                report[row.table].alreadyPresent += 1
            }
        }
        for session in sessions where !presentSessions.contains(session.id) {
            batch.rows += session.rows
            for row in session.rows { report.read(row.table) }
        }
        batch.sessions = await counting.count(sessions.filter { !presentSessions.contains($0.id) }, lanes: options.countingLanes)
        for table in Set(rows.map(\.table)).sorted() {
            let ofTable = rows.filter { $0.table == table }
            let present = try await checker.existingRows(table, keys: ofTable.map(\.key))
            report[table].alreadyPresent += ofTable.filter { present.contains($0.key) }.count
            batch.rows += ofTable.filter { !present.contains($0.key) }
        }
        return batch
    }

    /// Counts a written batch (`inserted` per table), or with nil one a dry run would have
    /// written. Rows another writer inserted meanwhile count as already present.
    private func record(_ inserted: [ImportTable: Int]?, for batch: PreparedBatch, in report: inout ImportReport) {
        // Users: a batch inserts every owner it needs (another batch may be inserting the same one);
        // each is counted once, by the batch that inserted it.
        report[.users].imported += inserted.map { $0[.users] ?? 0 } ?? batch.newUsers
        var sent: [ImportTable: Int] = [.sessions: batch.sessions.count]
        sent[.messages] = batch.sessions.reduce(0) { $0 + $1.messages.count }
        for row in batch.rows { sent[row.table, default: 0] += 1 }
        for (table, count) in sent where count > 0 {
            let done = inserted.map { $0[table] ?? 0 } ?? count
            report[table].imported += done
            report[table].alreadyPresent += count - done
        }
    }
}
