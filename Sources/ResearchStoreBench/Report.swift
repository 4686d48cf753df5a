import Foundation

/// Writes a progress line to stderr (stdout carries only machine-readable lines).
func progress(_ message: String) {
    FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
}

/// One machine-readable stdout line: `KIND key=value key=value …`, parsed by `scripts/bench`.
struct ReportLine {
    private var text: String

    init(_ kind: String) { text = kind }

    func with(_ key: String, _ value: some CustomStringConvertible) -> ReportLine {
        var copy = self
        copy.text += " \(key)=\(value)"
        return copy
    }

    func with(_ key: String, milliseconds value: Double) -> ReportLine {
        with(key, value.isFinite ? String(format: "%.3f", value) : "nan")
    }

    func with(_ key: String, rate value: Double) -> ReportLine {
        with(key, String(format: "%.1f", value))
    }

    func emit() {
        print(text)
        fflush(nil)  // all C streams; naming `stdout` is not concurrency-safe in Swift 6
    }
}
