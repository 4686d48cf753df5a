import FoundationEssentials
import Logging
import Postgres
import PostgresPool
import ResearchStoreHTTP

/// Reads typed values, collecting a message for each bad one instead of stopping at the first.
struct EnvironmentReader {
    let environment: [String: String]
    var problems: [String] = []

    func string(_ name: String, default value: String) -> String {
        environment[name].flatMap { $0.isEmpty ? nil : $0 } ?? value
    }

    /// The value when set and not empty.
    func optional(_ name: String) -> String? {
        environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The contents of the file the variable names, when set; an unreadable file is a problem.
    mutating func file(_ name: String) -> String? {
        guard let path = optional(name) else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            problems.append("\(name)=\(path) cannot be read")
            return nil
        }
        return text
    }

    mutating func integer(_ name: String, default value: Int, in range: ClosedRange<Int>) -> Int {
        guard let text = environment[name], !text.isEmpty else { return value }
        guard let number = Int(text), range.contains(number) else {
            problems.append("\(name)=\(text) is not a whole number in \(range.lowerBound)...\(range.upperBound)")
            return value
        }
        return number
    }

    mutating func choice(_ name: String, of allowed: [String], default value: String) -> String {
        guard let text = optional(name) else { return value }
        guard allowed.contains(text) else {
            problems.append("\(name)=\(text) is not one of \(allowed.joined(separator: ", "))")
            return value
        }
        return text
    }

    mutating func boolean(_ name: String, default value: Bool) -> Bool {
        guard let text = environment[name]?.lowercased(), !text.isEmpty else { return value }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            problems.append("\(name)=\(text) is not true or false")
            return value
        }
    }

    mutating func logLevel(_ name: String, default value: Logger.Level) -> Logger.Level {
        guard let text = environment[name], !text.isEmpty else { return value }
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            problems.append("\(name)=\(text) is not one of trace, debug, info, notice, warning, error, critical")
            return value
        }
        return level
    }

    /// `DATABASE_URL`, else the URL the local cluster script wrote under `.data/dev/`.
    func databaseURL() -> (String?, String) {
        if let url = environment["DATABASE_URL"], !url.isEmpty { return (url, "DATABASE_URL") }
        let dataDirectory = environment["RESEARCH_STORE_DATA_DIR"] ?? ".data"
        let path = dataDirectory + "/dev/database-url"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let url = String(text.trimmingWhitespace())
            if !url.isEmpty { return (url, path) }
        }
        return (nil, "unset")
    }
}
