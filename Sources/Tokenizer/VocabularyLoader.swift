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

    /// The file mapped read-only: its pages belong to the page cache, so reading the vocabulary
    /// adds nothing to the process's anonymous memory, and unmapping returns them at once.
    final class MappedFile {
        let bytes: UnsafeBufferPointer<UInt8>

        init(_ path: String) throws(TokenizerLoadError) {
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw .unreadable(path: path, errno: errno) }
            defer { close(fd) }
            var status = stat()
            guard fstat(fd, &status) == 0 else { throw .unreadable(path: path, errno: errno) }
            guard status.st_mode & S_IFMT == S_IFREG else { throw .unreadable(path: path, errno: EISDIR) }
            let size = Int(status.st_size)
            guard size > 0 else {
                bytes = UnsafeBufferPointer(start: nil, count: 0)
                return
            }
            guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
                throw .unreadable(path: path, errno: errno)
            }
            bytes = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: size)
        }

        deinit {
            if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
        }
    }

    /// Parses `<base64 token> <rank>` lines, requiring line `i` (from 0) to have rank `i`,
    /// straight into the table's arena and offsets.
    static func parse(_ text: UnsafeBufferPointer<UInt8>, path: String) throws(TokenizerLoadError) -> RankTable {
        var lines = 0
        for byte in text where byte == 0x0A { lines += 1 }
        // Base64 decodes to at most 3/4 of its length; pages never written are never resident.
        let arena = UnsafeMutablePointer<UInt8>.allocate(capacity: text.count * 3 / 4 + 4)
        let offsets = UnsafeMutablePointer<UInt32>.allocate(capacity: lines + 2)
        offsets[0] = 0
        var arenaCount = 0
        var count = 0
        var failure: TokenizerLoadError? = nil
        var i = 0
        var line = 0
        while i < text.count {
            line += 1
            func fail(_ reason: String) { failure = .malformedLine(path: path, line: line, reason: reason) }
            var lineEnd = i
            while lineEnd < text.count, text[lineEnd] != 0x0A { lineEnd += 1 }
            var space = i
            while space < lineEnd, text[space] != 0x20 { space += 1 }
            guard space < lineEnd, space > i else {
                fail("expected '<base64 token> <rank>'")
                break
            }
            guard let decoded = decodeBase64(text, i..<space, into: arena + arenaCount) else {
                fail("invalid base64")
                break
            }
            var rank = 0
            var j = space + 1
            guard j < lineEnd else {
                fail("missing rank")
                break
            }
            var digitsValid = true
            while j < lineEnd {
                let digit = Int(text[j]) - 48
                guard digit >= 0, digit <= 9, rank < 1 << 31 else {
                    digitsValid = false
                    break
                }
                rank = rank * 10 + digit
                j += 1
            }
            guard digitsValid else {
                fail("invalid rank")
                break
            }
            guard rank == line - 1 else {
                fail("rank \(rank) where \(line - 1) was expected")
                break
            }
            arenaCount += decoded
            count += 1
            offsets[count] = UInt32(arenaCount)
            i = lineEnd + 1
        }
        if let failure {
            arena.deallocate()
            offsets.deallocate()
            throw failure
        }
        let table = RankTable(arena: arena, offsets: offsets, count: count)
        if let duplicate = table.firstDuplicate {
            throw .malformedLine(path: path, line: duplicate + 1, reason: "token repeats an earlier one")
        }
        for byte in 0..<256 where table.byteRanks[byte] == RankTable.absent {
            throw .malformedLine(path: path, line: table.count, reason: "no token for the single byte \(byte)")
        }
        return table
    }

    /// Standard base64 with padding, written to `output`: the number of bytes, or nil when
    /// malformed.
    static func decodeBase64(
        _ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into output: UnsafeMutablePointer<UInt8>
    ) -> Int? {
        guard range.count % 4 == 0 else { return nil }
        var written = 0
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
                    guard i + 4 == range.upperBound, k >= 2 else { return nil }
                    value = 0
                    padding += 1
                default: return nil
                }
                if padding > 0 && c != UInt8(ascii: "=") { return nil }
                quad = quad << 6 | value
            }
            output[written] = UInt8(truncatingIfNeeded: quad >> 16)
            if padding < 2 { output[written + 1] = UInt8(truncatingIfNeeded: quad >> 8) }
            if padding < 1 { output[written + 2] = UInt8(truncatingIfNeeded: quad) }
            written += 3 - padding
            i += 4
        }
        return written
    }
}
