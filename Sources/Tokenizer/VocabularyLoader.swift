#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Finding, reading, checking and parsing `.tiktoken` vocabulary files.
enum VocabularyLoader {
    /// The directories searched, in order: `$TOKENIZER_VOCABULARY_DIR`; the installed layout
    /// `<executable's directory>/../share/research-store/vocabularies` (the container image);
    /// the source tree's `Sources/Tokenizer/Vocabularies` (`swift run`, `swift test`).
    static func searchDirectories(environment: String? = environmentDirectory()) -> [String] {
        var directories: [String] = []
        if let environment, !environment.isEmpty { directories.append(environment) }
        if let executable = executablePath(), let slash = executable.utf8.lastIndex(of: UInt8(ascii: "/")) {
            let directory = String(executable[..<slash])
            directories.append(directory + "/../share/research-store/vocabularies")
        }
        let source = #filePath
        if let slash = source.utf8.lastIndex(of: UInt8(ascii: "/")) {
            directories.append(String(source[..<slash]) + "/Vocabularies")
        }
        return directories
    }

    static func environmentDirectory() -> String? {
        getenv("TOKENIZER_VOCABULARY_DIR").map { String(cString: $0) }
    }

    private static func executablePath() -> String? {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #else
        return CommandLine.arguments.first
        #endif
    }

    /// The path of the encoding's file in the first directory that has one.
    static func locate(_ encoding: TokenEncoding, in directories: [String]) throws(TokenizerLoadError) -> String {
        for directory in directories {
            let path = directory + "/" + encoding.vocabularyFileName
            if access(path, R_OK) == 0 { return path }
        }
        throw .fileNotFound(fileName: encoding.vocabularyFileName, searched: directories)
    }

    /// The whole file.
    static func readFile(_ path: String) throws(TokenizerLoadError) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .unreadable(path: path, errno: errno) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .unreadable(path: path, errno: errno) }
        let size = Int(status.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        var failure: Int32 = 0
        bytes.withUnsafeMutableBytes { buffer in
            while done < size {
                let n = read(fd, buffer.baseAddress! + done, size - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if n == 0 { break }
                done += n
            }
        }
        if failure != 0 { throw .unreadable(path: path, errno: failure) }
        return done == size ? bytes : Array(bytes[..<done])
    }

    /// Parses `<base64 token> <rank>` lines, requiring line `i` (from 0) to have rank `i`.
    static func parse(_ contents: [UInt8], path: String) throws(TokenizerLoadError) -> RankTable {
        var arena: [UInt8] = []
        arena.reserveCapacity(contents.count * 3 / 4)
        var offsets: [UInt32] = [0]
        var result: Result<Void, TokenizerLoadError> = .success(())
        contents.withUnsafeBufferPointer { text in
            var i = 0
            var line = 0
            while i < text.count {
                line += 1
                func fail(_ reason: String) { result = .failure(.malformedLine(path: path, line: line, reason: reason)) }
                var lineEnd = i
                while lineEnd < text.count, text[lineEnd] != 0x0A { lineEnd += 1 }
                var space = i
                while space < lineEnd, text[space] != 0x20 { space += 1 }
                guard space < lineEnd, space > i else { return fail("expected '<base64 token> <rank>'") }
                guard decodeBase64(text, i..<space, into: &arena) else { return fail("invalid base64") }
                var rank = 0
                var j = space + 1
                guard j < lineEnd else { return fail("missing rank") }
                while j < lineEnd {
                    let digit = Int(text[j]) - 48
                    guard digit >= 0, digit <= 9, rank < 1 << 31 else { return fail("invalid rank") }
                    rank = rank * 10 + digit
                    j += 1
                }
                guard rank == line - 1 else { return fail("rank \(rank) where \(line - 1) was expected") }
                offsets.append(UInt32(arena.count))
                i = lineEnd + 1
            }
        }
        try result.get()
        let table = RankTable(arenaBytes: arena, offsets: offsets)
        if let duplicate = table.firstDuplicate {
            throw .malformedLine(path: path, line: duplicate + 1, reason: "token repeats an earlier one")
        }
        for byte in 0..<256 where table.byteRanks[byte] == RankTable.absent {
            throw .malformedLine(path: path, line: table.count, reason: "no token for the single byte \(byte)")
        }
        return table
    }

    /// Standard base64 with padding, appended to `output`; false when malformed.
    static func decodeBase64(_ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into output: inout [UInt8]) -> Bool {
        guard range.count % 4 == 0 else { return false }
        var i = range.lowerBound
        while i < range.upperBound {
            var quad: UInt32 = 0
            var padding = 0
            for k in 0..<4 {
                let c = text[i + k]
                let value: UInt32
                switch c {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(c - UInt8(ascii: "A"))
                case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(c - UInt8(ascii: "a")) + 26
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(c - UInt8(ascii: "0")) + 52
                case UInt8(ascii: "+"): value = 62
                case UInt8(ascii: "/"): value = 63
                case UInt8(ascii: "="):
                    // Only at the end, at most two.
                    guard i + 4 == range.upperBound, k >= 2 else { return false }
                    value = 0
                    padding += 1
                default: return false
                }
                if padding > 0 && c != UInt8(ascii: "=") { return false }
                quad = quad << 6 | value
            }
            output.append(UInt8(truncatingIfNeeded: quad >> 16))
            if padding < 2 { output.append(UInt8(truncatingIfNeeded: quad >> 8)) }
            if padding < 1 { output.append(UInt8(truncatingIfNeeded: quad)) }
            i += 4
        }
        return true
    }
}
