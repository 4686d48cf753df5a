/// Why a vocabulary could not be loaded.
public enum TokenizerLoadError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No vocabulary file in any searched directory (listed in search order).
    case fileNotFound(fileName: String, searched: [String])
    /// The file exists but could not be read (`errno`).
    case unreadable(path: String, errno: Int32)
    /// The file's SHA-256 is not the one tiktoken pins for the encoding.
    case checksumMismatch(path: String, expected: String, actual: String)
    /// A line is not `<base64 token> <rank>` with the ranks 0, 1, 2, … in order, or the file
    /// lacks a single-byte token or repeats a token. `line` counts from 1.
    case malformedLine(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let fileName, let searched):
            "tokenizer vocabulary \(fileName) not found in: \(searched.joined(separator: ", "))"
                + " (set TOKENIZER_VOCABULARY_DIR)"
        case .unreadable(let path, let errno): "cannot read tokenizer vocabulary \(path) (errno \(errno))"
        case .checksumMismatch(let path, let expected, let actual):
            "tokenizer vocabulary \(path) has SHA-256 \(actual), expected \(expected)"
        case .malformedLine(let path, let line, let reason): "\(path):\(line): \(reason)"
        }
    }
}
