import Foundation
import TestSupport
import Testing
import Tokenizer

/// Every text of the golden file of `scripts/tokenizer-golden.py` (`scripts/test` makes it and
/// exports its path as TOKENIZER_GOLDEN_FILE) must get exactly tiktoken's ids from both
/// encodings. Without the file the test is skipped locally and fails when CI is set.
///
/// A debug build spends tens of seconds of CPU on it, so each encoding's comparison runs on a
/// thread of its own (never on the two threads of the cooperative pool, which the tests running
/// beside it need), and the two run one after the other, leaving the other core to those tests.
@Suite(.serialized) struct GoldenTests {
    static let path = ProcessInfo.processInfo.environment["TOKENIZER_GOLDEN_FILE"].flatMap { $0.isEmpty ? nil : $0 }
    static let inCI = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty } ?? false

    /// The file, read once for both encodings' tests.
    static let golden: Result<GoldenFile, any Error>? = path.map { path in Result { try GoldenFile(contentsOf: path) } }

    @Test(
        .enabled(if: path != nil || inCI, "TOKENIZER_GOLDEN_FILE is not set (scripts/test sets it)"),
        arguments: TokenEncoding.allCases)
    func identicalToTiktoken(_ encoding: TokenEncoding) async throws {
        guard let loaded = Self.golden else {
            Issue.record("TOKENIZER_GOLDEN_FILE is not set: run scripts/test, which makes the golden file with tiktoken")
            return
        }
        let golden = try loaded.get()
        #expect(golden.texts.count >= 1_000)
        let column = try #require(golden.encodings.firstIndex(of: encoding.rawValue), "no ids for \(encoding.rawValue)")
        let tokenizer = try BPETokenizer.shared(encoding)
        let (compared, difference) = try await onOwnThread { Self.compare(golden, column: column, with: tokenizer) }
        if let difference { Issue.record(Comment(rawValue: difference)) }
        #expect(compared >= golden.texts.count - 5)
    }

    /// How many texts had an expectation, and the first difference from it, described.
    static func compare(_ golden: GoldenFile, column: Int, with tokenizer: BPETokenizer) -> (compared: Int, difference: String?) {
        let name = tokenizer.encoding.rawValue
        var compared = 0
        for (index, text) in golden.texts.enumerated() {
            let ids = tokenizer.encode(text)
            guard let expected = golden.ids[index][column] else { continue }  // tiktoken failed on it
            compared += 1
            if ids != expected {
                let position = zip(ids, expected).prefix { $0 == $1 }.count
                let byteOffset = tokenizer.decodeBytes(expected.prefix(position)).count
                return (compared, """
                    \(name): text \(index) differs from tiktoken at token \(position) (byte \(byteOffset)): \
                    got \(ids[position...].prefix(8)), expected \(expected[position...].prefix(8)); \
                    text near there: \(Self.escaped(text, around: byteOffset))
                    """)
            }
            let count = tokenizer.count(text)
            if count != ids.count { return (compared, "\(name): text \(index): count() \(count), encode().count \(ids.count)") }
        }
        return (compared, nil)
    }

    /// Up to 60 bytes before and after `offset`, every scalar outside printable ASCII escaped.
    static func escaped(_ text: String, around offset: Int) -> String {
        let bytes = Array(text.utf8)
        var start = max(0, offset - 60)
        while start > 0, bytes[start] & 0xC0 == 0x80 { start -= 1 }
        var end = min(bytes.count, offset + 60)
        while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        let window = String(decoding: bytes[start..<end], as: UTF8.self)
        return "\"" + window.unicodeScalars.map { $0.escaped(asASCII: true) }.joined() + "\""
    }
}

/// The file of `scripts/tokenizer-golden.py`: b"TOKGOLD1", u32 text count, u32 encoding count,
/// the encodings' names (u8 length, bytes), then per text its UTF-8 (u32 length, bytes) and per
/// encoding its ids (u32 count, u32 each; the count 0xFFFFFFFF for none), little-endian.
struct GoldenFile {
    struct Malformed: Error, CustomStringConvertible { let description: String }

    var encodings: [String] = []
    var texts: [String] = []
    /// `ids[text][encoding]`, nil where tiktoken itself failed.
    var ids: [[[UInt32]?]] = []

    init(contentsOf path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in
            var offset = 0
            func take(_ count: Int) throws -> UnsafeRawBufferPointer {
                guard count >= 0, offset + count <= raw.count else { throw Malformed(description: "\(path) is truncated") }
                defer { offset += count }
                return UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count)])
            }
            func u32() throws -> UInt32 { UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self)) }
            guard try take(8).elementsEqual("TOKGOLD1".utf8) else { throw Malformed(description: "\(path) is not TOKGOLD1") }
            let textCount = Int(try u32())
            let encodingCount = Int(try u32())
            for _ in 0..<encodingCount {
                let length = Int(try take(1)[0])
                encodings.append(String(decoding: try take(length), as: UTF8.self))
            }
            texts.reserveCapacity(textCount)
            ids.reserveCapacity(textCount)
            for _ in 0..<textCount {
                texts.append(String(decoding: try take(Int(try u32())), as: UTF8.self))
                var row: [[UInt32]?] = []
                for _ in 0..<encodingCount {
                    let count = try u32()
                    if count == 0xFFFF_FFFF {
                        row.append(nil)
                        continue
                    }
                    let values = try take(Int(count) * 4)
                    row.append(
                        (0..<Int(count)).map {
                            UInt32(littleEndian: values.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))
                        })
                }
                ids.append(row)
            }
        }
    }
}
