import FoundationEssentials
import Glibc
import Logging
import ResearchStore
import Synchronization

/// One JSON object per line on standard error — `timestamp`, `level`, `label`, `message`, then
/// the metadata — for log collectors in production (`LOG_FORMAT=json`).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let write: @Sendable ([UInt8]) -> Void

    public init(label: String, level: Logger.Level, write: @escaping @Sendable ([UInt8]) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.logLevel = level
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var members: [(key: String, value: JSONValue)] = [
            ("timestamp", .string(Timestamp.format(Date()))),
            ("level", .string(event.level.rawValue)),
            ("label", .string(label)),
            ("message", .string(event.message.description)),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() where !["timestamp", "level", "label", "message"].contains(key) {
            members.append((key, Self.json(merged[key]!)))
        }
        var bytes = JSONValue.object(members).serializedBytes
        bytes.append(UInt8(ascii: "\n"))
        write(bytes)
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): return .string(text)
        case .stringConvertible(let convertible): return .string(convertible.description)
        case .array(let items): return .array(items.map(json))
        case .dictionary(let dictionary): return .object(dictionary.keys.sorted().map { ($0, json(dictionary[$0]!)) })
        }
    }

    /// Whole lines to standard error, one `write` each so concurrent lines never interleave.
    public static let standardError: @Sendable ([UInt8]) -> Void = { bytes in
        lock.withLock { _ in bytes.withUnsafeBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) } }
    }

    private static let lock = Mutex(())
}
