/// The closing summary of an import as text: one line per table (read, imported, already
/// present, skipped), the reasons of the skips, the bad rows by table and source id (never their
/// contents), and the notes.
public enum ImportSummary {
    public static func render(_ outcome: Importer.Outcome, format: String, dryRun: Bool) -> String {
        let report = outcome.report
        let seconds = ImportProgress.seconds(outcome.elapsed)
        var lines: [String] = []
        if outcome.aborted {
            let first = report.badRows.first!
            lines.append(
                "import \(format): aborted (--strict) at the first bad row, \(first.table) \(quoted(first.sourceID)): "
                    + "\(first.reason); nothing was written")
            return lines.joined(separator: "\n")
        }
        let messages = report[.messages]
        let rate = seconds > 0 ? Int(Double(messages.imported + messages.alreadyPresent) / seconds) : 0
        lines.append(
            "import \(format)\(dryRun ? " (dry run: nothing was written; \"imported\" = would be imported)" : ""): "
                + "done in \(ImportProgress.duration(seconds)), \(rate) messages/s")
        let header = ["table", "read", "imported", "already present", "skipped"]
        var rows: [[String]] = [header]
        for table in ImportTable.allCases {
            guard let counts = report.tables[table] else { continue }
            rows.append([table.rawValue, "\(counts.read)", "\(counts.imported)", "\(counts.alreadyPresent)", "\(counts.skippedTotal)"])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max()! }
        for row in rows {
            lines.append(
                row.enumerated().map { index, cell in
                    index == 0 ? cell.padding(to: widths[index]) : String(repeating: " ", count: widths[index] - cell.count) + cell
                }.joined(separator: "  "))
        }
        for table in ImportTable.allCases {
            for (reason, count) in (report.tables[table]?.skipped ?? [:]).sorted(by: { $0.key < $1.key }) {
                lines.append("skipped \(table.rawValue): \(count) × \(reason)")
            }
        }
        if report.hasBadRows {
            let shown = report.badRowCount > report.badRows.count ? ", the first \(report.badRows.count)" : ""
            lines.append("bad rows (\(report.badRowCount)\(shown)):")
            for bad in report.badRows {
                lines.append("  \(bad.table) \(quoted(bad.sourceID)): \(bad.reason)")
            }
        }
        lines += report.notes.map { "note: \($0)" }
        if report.noteCount > report.notes.count { lines.append("(\(report.noteCount - report.notes.count) more notes)") }
        if report.tables.isEmpty { lines.append("the source holds nothing to import") }
        return lines.joined(separator: "\n")
    }

    /// A source id as printed: in quotes, control characters escaped, at most 80 characters (an
    /// id is not content, but a hostile one must not garble the terminal or flood the log).
    static func quoted(_ id: String) -> String {
        var text = ""
        for scalar in id.unicodeScalars.prefix(80) {
            text += scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\"" ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return "\"" + text + (id.unicodeScalars.count > 80 ? "…" : "") + "\""
    }
}
