import ArgumentParser
import Glibc
import Importers
import Logging
import Tokenizer

/// `research-store import FORMAT SOURCE`: brings another store's data in (API.md, "Moving in").
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import another store's data: yral-sqlite, relia-sqlite, graysky, openai-conversations, export.",
        discussion: """
            Ids derive from the source's, so running it again adds nothing; a run that was stopped \
            completes when run again. Bad rows are named (table and source id) and skipped; --strict \
            stops at the first one with nothing written. The \
            database is DATABASE_URL (or ENV_FILE), as for serve; messages are counted as \
            TOKEN_ENCODING says. Progress goes to standard error, the summary to standard output.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case yralSQLite = "yral-sqlite"
        case export
        case openaiConversations = "openai-conversations"
        case reliaSQLite = "relia-sqlite"
        case graysky
    }

    @Argument(help: "The source's format: \(Format.allCases.map(\.rawValue).joined(separator: ", ")).") var format: Format
    @Argument(help: "The source: a file (graysky: its SQLite file, or a folder of its JSON files).") var source: String
    @Option(help: "The owner where the source names none (1–128 of A–Z a–z 0–9 . _ @ : -).") var userID: String?
    @Flag(help: "Read and validate only; print the summary, write nothing.") var dryRun = false
    @Flag(help: "Stop at the first bad row, with nothing written.") var strict = false
    @Option(help: "Messages per transaction (whole sessions; 1–1000000).") var batchMessages = 20_000
    @Option(help: "Connections writing transactions side by side (1–8).") var writers = 2

    func validate() throws {
        if let userID, !UserIDMapping.isValid(userID) {
            throw ValidationError("--user-id must be 1–128 characters of A–Z a–z 0–9 . _ @ : -")
        }
        guard (1...1_000_000).contains(batchMessages) else { throw ValidationError("--batch-messages must be 1–1000000") }
        guard (1...8).contains(writers) else { throw ValidationError("--writers must be 1–8") }
    }

    func run() async throws {
        let settings = try loadSettings(serving: false)
        if let directory = settings.tokenizerVocabularyDirectory { setenv("TOKENIZER_VOCABULARY_DIR", directory, 1) }
        let connection = try connectionConfiguration(settings)
        var options = ImportOptions()
        options.dryRun = dryRun
        options.strict = strict
        options.counting = settings.tokenCounting
        options.batchMessages = batchMessages
        options.writers = writers
        var logger = Logger(label: "research-store.import")
        logger.logLevel = .warning
        let importer = Importer(
            format: format.rawValue, options: options, database: connection, logger: logger, makeReader: makeReader)
        let outcome: Importer.Outcome
        do {
            outcome = try await importer.run(progress: .automatic())
        } catch {
            printToStandardError(
                "import \(format.rawValue) failed: \(error)\nwhat was committed stays (whole sessions); run it again to go on")
            throw ExitCode(1)
        }
        print(ImportSummary.render(outcome, format: format.rawValue, dryRun: dryRun))
        if outcome.aborted { throw ExitCode(1) }
    }

    private func makeReader() throws -> any ImportReader {
        switch format {
        case .yralSQLite: try YralReader(path: source, ownerWhenMissing: userID)
        case .export: try ExportReader(path: source)
        case .openaiConversations: try OpenAIConversationsReader(path: source, owner: userID)
        case .reliaSQLite: try ReliaReader(path: source, ownerWhenMissing: userID)
        case .graysky: try GrayskyReader(path: source, owner: userID)
        }
    }
}
