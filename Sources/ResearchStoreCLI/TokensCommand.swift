import ArgumentParser
import Glibc
import Logging
import PostgresPool
import ResearchStore
import Synchronization

/// `research-store tokens …`: exact token counts of stored messages.
struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens", abstract: "Exact token counts of stored messages.", subcommands: [Backfill.self])

    /// Counts the messages stored before exact counts (or with `TOKEN_ENCODING=estimate`).
    struct Backfill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Count, in o200k_base and cl100k_base, every message stored without exact counts.",
            discussion: """
                Batch by batch, each committed on its own: safe while servers run, and resumable \
                (Ctrl-C finishes the batch in flight; run it again to go on). A progress bar is \
                drawn when standard error is a terminal; a summary is printed at the end.
                """)

        @Option(help: "Messages counted and committed at a time (1–100000).") var batchSize = 1000

        func validate() throws {
            guard TokenBackfill.batchSizes.contains(batchSize) else { throw ValidationError("--batch-size must be 1–100000") }
        }

        func run() async throws {
            let settings = try loadSettings(serving: false)
            if let directory = settings.tokenizerVocabularyDirectory { setenv("TOKENIZER_VOCABULARY_DIR", directory, 1) }
            let connection = try connectionConfiguration(settings)
            var poolConfiguration = settings.pool
            poolConfiguration.maximumConnections = 1
            poolConfiguration.minimumConnections = 0
            var logger = Logger(label: "research-store.tokens")
            logger.logLevel = .warning
            let pool = PostgresPool(configuration: poolConfiguration, connection: connection, logger: logger)
            Interruption.install()
            let bar = isatty(2) == 1 ? ProgressBar() : nil
            let summary: TokenBackfill.Summary
            do {
                summary = try await TokenBackfill(pool: pool, batchSize: batchSize).run(
                    shouldStop: { Interruption.requested }, progress: { bar?.draw($0) })
            } catch {
                bar?.finish()
                await pool.shutdown()
                printToStandardError("tokens backfill failed: \(error); what was committed stays counted, run it again to go on")
                throw ExitCode(1)
            }
            bar?.finish()
            await pool.shutdown()
            print(Self.describe(summary))
            if summary.stopped { throw ExitCode(130) }
        }

        /// The closing summary, one line.
        static func describe(_ summary: TokenBackfill.Summary) -> String {
            let seconds = summary.elapsed.inSeconds
            let rate = seconds > 0 ? Int(Double(summary.counted) / seconds) : summary.counted
            var line = "counted \(summary.counted) messages (\(ProgressBar.megabytes(summary.bytes)) of content) "
                + "in \(summary.batches) batches, \(ProgressBar.duration(seconds)), \(rate) messages/s"
            if summary.skipped > 0 { line += "; \(summary.skipped) were counted or deleted meanwhile by others" }
            line += summary.stopped ? "; interrupted: run it again to count the rest" : "; every message is counted"
            return line
        }
    }
}

/// SIGINT and SIGTERM ask the backfill to stop after the batch in flight.
enum Interruption {
    private static let flag = Atomic<Bool>(false)

    static var requested: Bool { flag.load(ordering: .relaxed) }

    static func install() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { _ in Interruption.flag.store(true, ordering: .relaxed) }
        }
    }
}

/// One line on standard error, redrawn in place (at most ten times a second): a bar, rows, rate
/// and time left.
final class ProgressBar {
    private let width = 30
    private var lastDrawn: Duration?
    private var latest: TokenBackfill.Progress?

    func draw(_ progress: TokenBackfill.Progress) {
        latest = progress
        if let lastDrawn, progress.elapsed - lastDrawn < .milliseconds(100) { return }
        lastDrawn = progress.elapsed
        render(progress)
    }

    /// Draws the last state, if it was skipped, and ends the line.
    func finish() {
        if let latest, latest.elapsed != lastDrawn { render(latest) }
        write("\n")
    }

    private func render(_ progress: TokenBackfill.Progress) {
        let seconds = progress.elapsed.inSeconds
        let fraction = progress.total == 0 ? 1 : min(1, Double(progress.counted) / Double(progress.total))
        let filled = Int(fraction * Double(width))
        let rate = seconds > 0 ? Double(progress.counted) / seconds : 0
        let left = rate > 0 ? Self.duration(Double(progress.total - progress.counted) / rate) : "--"
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        write("\r\u{1B}[2K[\(bar)] \(progress.counted)/\(progress.total) messages  \(Int(rate))/s  \(left) left")
    }

    private func write(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    static func duration(_ seconds: Double) -> String {
        let tenths = Int((seconds * 10).rounded())
        if tenths < 600 { return "\(tenths / 10).\(tenths % 10)s" }
        let whole = tenths / 10
        return whole < 3600 ? "\(whole / 60)m\(whole % 60)s" : "\(whole / 3600)h\(whole / 60 % 60)m"
    }

    static func megabytes(_ bytes: Int) -> String {
        let tenths = (bytes * 10 + 524_288) / 1_048_576
        return "\(tenths / 10).\(tenths % 10) MiB"
    }
}

extension Duration {
    /// The duration in seconds, fractions included.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
