#if canImport(Glibc)
import Glibc
#endif

/// Shows an import's progress on standard error. On a terminal: a bar per table (rows, rate, time
/// left), redrawn in place at most ten times a second. Off a terminal (a log, CI): one line every
/// few seconds. Quiet draws nothing.
public final class ImportProgress {
    public enum Style { case terminal, lines, quiet }

    private let style: Style
    private let clock = ContinuousClock()
    private var started: ContinuousClock.Instant
    private var lastDrawn: ContinuousClock.Instant?
    private var totals: [ImportTable: Int] = [:]
    private var linesDrawn = 0

    /// A terminal when standard error is one, lines otherwise.
    public static func automatic() -> ImportProgress { ImportProgress(style: isatty(2) == 1 ? .terminal : .lines) }

    public init(style: Style) {
        self.style = style
        started = clock.now
    }

    func start(totals: [ImportTable: Int]) {
        self.totals = totals
        started = clock.now
    }

    func update(_ report: ImportReport) {
        let interval: Duration = style == .terminal ? .milliseconds(100) : .seconds(5)
        if let lastDrawn, clock.now - lastDrawn < interval { return }
        lastDrawn = clock.now
        draw(report)
    }

    /// Draws the final state (the bars at their end; off a terminal, a last line).
    func finish(_ report: ImportReport) {
        draw(report)
    }

    private func draw(_ report: ImportReport) {
        let seconds = Self.seconds(clock.now - started)
        let tables = ImportTable.allCases.filter { totals[$0] != nil || report.tables[$0] != nil }
        switch style {
        case .quiet: return
        case .lines:
            let parts = tables.map { table in
                let done = report[table].done
                return "\(table.rawValue) \(done)" + (totals[table].map { "/\($0)" } ?? "")
            }
            write("import: " + parts.joined(separator: ", ") + " after \(Self.duration(seconds))\n")
        case .terminal:
            var text = linesDrawn > 0 ? "\u{1B}[\(linesDrawn)A" : ""
            for table in tables { text += "\r\u{1B}[2K" + bar(table, done: report[table].done, seconds: seconds) + "\n" }
            linesDrawn = tables.count
            write(text)
        }
    }

    /// `messages  [#####-----]  12000/50000  40000/s  1.0s left`
    private func bar(_ table: ImportTable, done: Int, seconds: Double) -> String {
        let width = 30
        let total = totals[table]
        let fraction = total.map { $0 == 0 ? 1 : min(1, Double(done) / Double($0)) } ?? 0
        let filled = Int(fraction * Double(width))
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let left = total.map { rate > 0 ? Self.duration(Double(max(0, $0 - done)) / rate) + " left" : "-- left" } ?? ""
        let name = table.rawValue.padding(to: 17)
        // A table whose total the source cannot tell cheaply (users) gets its count, no bar.
        let bar = total == nil ? String(repeating: " ", count: width + 2) : "[\(String(repeating: "#", count: filled))\(String(repeating: "-", count: width - filled))]"
        return "\(name) \(bar) \(done)\(total.map { "/\($0)" } ?? "")  \(Int(rate))/s  \(left)"
    }

    private func write(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func duration(_ seconds: Double) -> String {
        let tenths = Int((seconds * 10).rounded())
        if tenths < 600 { return "\(tenths / 10).\(tenths % 10)s" }
        let whole = tenths / 10
        return whole < 3600 ? "\(whole / 60)m\(whole % 60)s" : "\(whole / 3600)h\(whole / 60 % 60)m"
    }
}

extension String {
    /// Left-aligned in `width` columns.
    func padding(to width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
