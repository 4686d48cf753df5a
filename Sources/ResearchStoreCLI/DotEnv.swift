import FoundationEssentials
import Postgres

/// A `.env` file for local use: `NAME=value` lines (blank lines and `#` comments ignored, the
/// value optionally in single or double quotes). Variables already in the environment win.
enum DotEnv {
    /// The environment with the file's variables added underneath, and the problems found.
    static func merged(into environment: [String: String], path: String) -> (environment: [String: String], problems: [String]) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return (environment, []) }
        var merged = environment
        var problems: [String] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(rawLine.trimmingWhitespace())
            if line.isEmpty || line.hasPrefix("#") { continue }
            let body = line.hasPrefix("export ") ? String(line.dropFirst(7)) : line
            guard let equals = body.firstIndex(of: "="), !body[..<equals].isEmpty,
                body[..<equals].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
            else {
                problems.append("\(path):\(number + 1) is not NAME=value")
                continue
            }
            let name = String(body[..<equals])
            var value = String(body[body.index(after: equals)...])
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            if merged[name] == nil { merged[name] = value }
        }
        return (merged, problems)
    }
}
