#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tokenizer

/// `research-store-bench tokenize`: the Tokenizer module's throughput on a file of texts, for
/// `scripts/bench-tokenizer.py` to set beside tiktoken's on the same texts.
///
/// Loads the vocabulary (reporting the load time and the resident set size before and after),
/// then encodes every text and counts the tokens of every text, once each per repetition, until at least `minimumSeconds`
/// have passed and `repetitions` are done; reports the best repetition of each. Prints one `RESULT` line
/// of `key=value` pairs on stdout.
enum TokenizeBench {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func run(encoding: TokenEncoding, textsPath: String, repetitions: Int, minimumSeconds: Double) throws {
        let texts = try readTexts(textsPath)
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        let rssBefore = residentKilobytes()
        let loadStart = MonotonicClock.nanoseconds()
        let tokenizer = try BPETokenizer.shared(encoding)
        let loadNanoseconds = MonotonicClock.nanoseconds() - loadStart
        let rssAfter = residentKilobytes()

        // encode(_:) and count(_:) in turns, so that both see the same machine.
        var best = UInt64.max
        var bestCount = UInt64.max
        var tokens = 0
        var done = 0
        let start = MonotonicClock.nanoseconds()
        while done < repetitions || Double(MonotonicClock.nanoseconds() - start) < minimumSeconds * 1e9 {
            var began = MonotonicClock.nanoseconds()
            var encoded = 0
            for text in texts { encoded += tokenizer.encode(text).count }
            best = min(best, MonotonicClock.nanoseconds() - began)
            began = MonotonicClock.nanoseconds()
            var counted = 0
            for text in texts { counted += tokenizer.count(text) }
            bestCount = min(bestCount, MonotonicClock.nanoseconds() - began)
            guard counted == encoded else { throw Failure(description: "count() gave \(counted), encode() \(encoded)") }
            tokens = encoded
            done += 1
        }
        let countNanoseconds = bestCount
        let seconds = Double(best) / 1e9
        print(
            "RESULT encoding=\(encoding.rawValue) texts=\(texts.count) bytes=\(bytes) tokens=\(tokens)"
                + " repetitions=\(done) best_seconds=\(seconds) mb_per_s=\(Double(bytes) / seconds / 1e6)"
                + " count_mb_per_s=\(Double(bytes) / (Double(countNanoseconds) / 1e9) / 1e6)"
                + " load_ms=\(Double(loadNanoseconds) / 1e6)"
                + " rss_before_kib=\(rssBefore) rss_after_kib=\(rssAfter)")
    }

    /// The texts file of `scripts/bench-tokenizer.py`: b"TOKTEXT1", u32 count, then per text a
    /// u32 byte length and the UTF-8 bytes (little-endian).
    static func readTexts(_ path: String) throws -> [String] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Failure(description: "cannot open \(path): errno \(errno)") }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            guard n >= 0 else { throw Failure(description: "cannot read \(path): errno \(errno)") }
            if n == 0 { break }
            data.append(contentsOf: chunk[..<n])
        }
        guard data.count >= 12, data[0..<8].elementsEqual("TOKTEXT1".utf8) else {
            throw Failure(description: "\(path) is not a TOKTEXT1 file")
        }
        var offset = 8
        func u32() throws -> Int {
            guard offset + 4 <= data.count else { throw Failure(description: "\(path) is truncated") }
            defer { offset += 4 }
            return Int(data[offset]) | Int(data[offset + 1]) << 8 | Int(data[offset + 2]) << 16 | Int(data[offset + 3]) << 24
        }
        let count = try u32()
        var texts: [String] = []
        texts.reserveCapacity(count)
        for _ in 0..<count {
            let length = try u32()
            guard offset + length <= data.count else { throw Failure(description: "\(path) is truncated") }
            texts.append(String(decoding: data[offset..<(offset + length)], as: UTF8.self))
            offset += length
        }
        return texts
    }

    /// VmRSS from /proc/self/status, in KiB (-1 where there is no /proc).
    static func residentKilobytes() -> Int {
        let fd = open("/proc/self/status", O_RDONLY)
        guard fd >= 0 else { return -1 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 8192)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        guard n > 0 else { return -1 }
        let text = String(decoding: buffer[..<n], as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.dropFirst(6).filter { $0.isNumber }) ?? -1
        }
        return -1
    }
}
