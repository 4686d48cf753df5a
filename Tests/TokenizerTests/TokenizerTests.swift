import Foundation
import Testing
import TestSupport

@testable import Tokenizer

/// Known ids (from tiktoken 0.14.0's `encode_ordinary`), the count/encode agreement, the byte
/// API, long runs, the merge variants against each other, the Unicode table, and the loader's
/// errors. The corpus-wide comparison with tiktoken is `GoldenTests`.
@Suite struct TokenizerTests {
    static let known: [(TokenEncoding, String, [UInt32])] = [
        (.o200kBase, "hello world", [24912, 2375]),
        (.o200kBase, "<|endoftext|>", [27, 91, 419, 1440, 919, 91, 29]),
        (.o200kBase, "I'M here, don'T", [40, 95346, 2105, 11, 1700, 51532]),
        (.o200kBase, "  x\r\n\r\n  ", [220, 1215, 1414, 256]),
        (.o200kBase, "12345", [7633, 2548]),
        (.o200kBase, "日本語 👩\u{200D}💻", [9048, 40909, 61138, 102, 2524, 31446, 119]),
        (.o200kBase, "ǅemal ſ'S", [131, 227, 347, 280, 20757, 123, 31233]),
        (.cl100kBase, "hello world", [15339, 1917]),
        (.cl100kBase, "<|endoftext|>", [27, 91, 8862, 728, 428, 91, 29]),
        (.cl100kBase, "I'M here, don'T", [40, 28703, 1618, 11, 1541, 17773]),
        (.cl100kBase, "  x\r\n\r\n  ", [220, 865, 881, 256]),
        (.cl100kBase, "12345", [4513, 1774]),
        (.cl100kBase, "日本語 👩\u{200D}💻", [9080, 22656, 45918, 252, 62904, 102, 378, 235, 93273, 119]),
        (.cl100kBase, "ǅemal ſ'S", [131, 227, 336, 278, 27006, 123, 13575]),
    ]

    @Test(arguments: 0..<known.count)
    func knownIDs(_ index: Int) throws {
        let (encoding, text, ids) = Self.known[index]
        let tokenizer = try BPETokenizer.shared(encoding)
        #expect(tokenizer.encode(text) == ids)
        #expect(tokenizer.count(text) == ids.count)
        #expect(tokenizer.decodeBytes(ids) == Array(text.utf8))
    }

    @Test func emptyText() throws {
        for encoding in TokenEncoding.allCases {
            #expect(try BPETokenizer.shared(encoding).encode("") == [])
            #expect(try BPETokenizer.shared(encoding).count("") == 0)
        }
    }

    @Test func sharedLoadsOnce() throws {
        #expect(try BPETokenizer.shared(.o200kBase) === BPETokenizer.shared(.o200kBase))
        #expect(try BPETokenizer.shared(.o200kBase) !== BPETokenizer.shared(.cl100kBase))
    }

    @Test func utf8BytesMatchStrings() throws {
        let tokenizer = try BPETokenizer.shared(.o200kBase)
        let text = "Grüße, 世界! 🇩🇪 it's"
        #expect(tokenizer.encode(utf8: Array(text.utf8)) == tokenizer.encode(text))
        #expect(tokenizer.count(utf8: text.utf8) == tokenizer.count(text))
        // Invalid UTF-8 reads as U+FFFD, as String(decoding:as:) does.
        let invalid: [UInt8] = [0x61, 0xFF, 0x62, 0xC3]
        #expect(tokenizer.encode(utf8: invalid) == tokenizer.encode("a\u{FFFD}b\u{FFFD}"))
    }

    /// Seeded random texts: count(_:) must equal encode(_:).count, and the tokens must decode
    /// back to the text.
    @Test(arguments: TokenEncoding.allCases)
    func countEqualsEncodeCount(_ encoding: TokenEncoding) throws {
        let tokenizer = try BPETokenizer.shared(encoding)
        var random = SeededRandom(seed: 7)
        let alphabet: [String] = ["a", "B", " ", "  ", "\n", "\r\n", "1", "22", "'s", "'LL", "é", "e\u{301}", "字", "😀",
                                  "👩\u{200D}💻", "!", "...", "/", "\t", "\u{00A0}", "ภา", "ß", "ǅ"]
        for _ in 0..<500 {
            let text = (0..<Int(random.next() % 40)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
                .joined()
            let ids = tokenizer.encode(text)
            #expect(tokenizer.count(text) == ids.count, "\(text.debugDescription)")
            #expect(tokenizer.decodeBytes(ids) == Array(text.utf8), "\(text.debugDescription)")
        }
    }

    /// 1 MB of one repeated character is one huge piece (spaces, letters) or many (digits): it
    /// must finish in well under the time limit, with tiktoken's counts.
    @Test(.timeLimit(.minutes(1)), arguments: [
        (TokenEncoding.cl100kBase, " ", 7_813), (.cl100kBase, "7", 333_334), (.cl100kBase, "a", 125_000),
        (.o200kBase, "7", 333_334), (.o200kBase, "a", 125_000),
    ])
    func longRuns(_ encoding: TokenEncoding, _ character: String, _ expected: Int) throws {
        let text = String(repeating: character, count: 1_000_000)
        #expect(try BPETokenizer.shared(encoding).count(text) == expected)
    }

    /// 1 MB of spaces with o200k_base, where tiktoken itself fails (fancy-regex overflows its
    /// backtracking stack): one piece, which must still finish and round-trip.
    @Test(.timeLimit(.minutes(1)))
    func megabyteOfSpacesWithO200k() throws {
        let tokenizer = try BPETokenizer.shared(.o200kBase)
        let text = String(repeating: " ", count: 1_000_000)
        let ids = tokenizer.encode(text)
        #expect(tokenizer.count(text) == ids.count)
        #expect(tokenizer.decodeBytes(ids) == Array(text.utf8))
        // 700,000 spaces and an "x" give 5,470 ids in tiktoken 0.14.0 (a golden text).
        #expect(ids.count > 5_470 && ids.count < 10_000)
    }

    /// The heap merge (long pieces) and tiktoken's array merge (short ones) agree on random
    /// pieces of up to `shortPieceLimit` bytes made of a few byte values, where merges abound.
    @Test(arguments: TokenEncoding.allCases)
    func longAndShortMergesAgree(_ encoding: TokenEncoding) throws {
        let table = try BPETokenizer.shared(encoding).table
        var random = SeededRandom(seed: 11)
        let bytes = Array("aeinst _.\n".utf8) + [0xE4, 0xB8, 0x80]
        var scratch = MergeScratch()
        scratch.reserve(shortPieceLimit)
        for _ in 0..<2_000 {
            let length = 2 + Int(random.next() % UInt64(shortPieceLimit - 1))
            let piece = (0..<length).map { _ in bytes[Int(random.next() % UInt64(bytes.count))] }
            var short = IDSink()
            var long = IDSink()
            piece.withUnsafeBufferPointer { piece in
                table.mergeShort(
                    piece.baseAddress!, length, scratch.starts, scratch.pairRanks, scratch.tokenRanks, &short)
                table.mergeLong(piece.baseAddress!, length, scratch, &long)
            }
            #expect(short.ids == long.ids)
            #expect(table.decode(short.ids) == piece)
        }
    }

    @Test func unicodeTableIsTheGeneratedOne() {
        let digest = ScalarClass.segments.withUnsafeBytes { SHA256.hexDigest($0) }
        #expect(digest == ScalarClass.segmentsSHA256)
        #expect(ScalarClass.unicodeVersion == "16.0.0")
    }

    /// The generated UCD 16.0.0 table and the standard library's tables (17.0.0 in Swift 6.3)
    /// agree on every scalar the standard library dates to Unicode 16.0 or earlier, except
    /// U+0295 LATIN LETTER PHARYNGEAL VOICED FRICATIVE, Ll in 16.0 and Lo in 17.0 (tiktoken
    /// treats it as Ll: the golden sweep covers it). Scalars new in 17.0 are unassigned in the table.
    @Test func unicodeTableAgreesWithStandardLibraryUpTo16() {
        var disagreements: [String] = []
        for value in UInt32(0)...0x10_FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let table = value < ScalarClass.tableLimit ? ScalarClass.table[Int(value)] : ScalarClass.compute(value)
            if let age = scalar.properties.age, age.major > 16 {
                #expect(table == 0, "U+\(String(value, radix: 16)) is new after 16.0 but has class \(table)")
                continue
            }
            if table != ScalarClass.fromStandardLibrary(value) { disagreements.append(String(value, radix: 16)) }
        }
        // With a standard library still on 16.0 the list is empty; on 17.0, it is U+0295 alone.
        #expect(disagreements.isEmpty || disagreements == ["295"], "classes differ at U+\(disagreements.prefix(20))")
        #expect(ScalarClass.table[0x295] == ScalarClass.letter | ScalarClass.lower)
    }

    @Test func sha256KnownVectors() {
        func hex(_ text: String) -> String { Array(text.utf8).withUnsafeBytes { SHA256.hexDigest($0) } }
        #expect(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            hex(String(repeating: "a", count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    // MARK: Loader errors

    @Test func missingFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: TokenizerLoadError.fileNotFound(fileName: "o200k_base.tiktoken", searched: [directory])) {
            try BPETokenizer(encoding: .o200kBase, vocabularyDirectory: directory)
        }
    }

    @Test func checksumMismatch() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let original = try Data(contentsOf: URL(fileURLWithPath: vocabularyDirectory() + "/cl100k_base.tiktoken"))
        // One rank changed: still well-formed, but not the published file.
        var text = String(decoding: original, as: UTF8.self)
        text = text.replacingOccurrences(of: "IQ== 0\nIg== 1\n", with: "Ig== 0\nIQ== 1\n")
        let path = directory + "/cl100k_base.tiktoken"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            try BPETokenizer(encoding: .cl100kBase, vocabularyDirectory: directory)
        } throws: { error in
            guard case .checksumMismatch(let errorPath, let expected, let actual) = error as? TokenizerLoadError else {
                return false
            }
            return errorPath == path && expected == TokenEncoding.cl100kBase.vocabularySHA256 && actual != expected
        }
    }

    @Test func unreadableFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A directory where the file should be: access(R_OK) passes, read(2) fails.
        try FileManager.default.createDirectory(atPath: directory + "/o200k_base.tiktoken", withIntermediateDirectories: false)
        #expect {
            try BPETokenizer(encoding: .o200kBase, vocabularyDirectory: directory)
        } throws: { error in
            if case .unreadable = error as? TokenizerLoadError { return true }
            return false
        }
    }

    @Test(arguments: [
        ("IQ== 0\nIg== 2\n", 2, "rank 2 where 1 was expected"),
        ("IQ== 0\nI!== 1\n", 2, "invalid base64"),
        ("IQ==\n", 1, "expected '<base64 token> <rank>'"),
        ("IQ== 0\nIQ== 1\n", 2, "token repeats an earlier one"),
        ("IQ== x\n", 1, "invalid rank"),
    ])
    func malformedLines(_ contents: String, _ line: Int, _ reason: String) {
        #expect(throws: TokenizerLoadError.malformedLine(path: "test", line: line, reason: reason)) {
            try parse(contents)
        }
    }

    @Test func missingSingleByteToken() {
        #expect {
            try parse("IQ== 0\n")
        } throws: { error in
            guard case .malformedLine(_, _, let reason) = error as? TokenizerLoadError else { return false }
            return reason.hasPrefix("no token for the single byte")
        }
    }

    @Test func searchOrder() throws {
        let directories = VocabularyLoader.searchDirectories(environment: "/nonexistent-vocabularies")
        #expect(directories.count == 3)
        #expect(directories.first == "/nonexistent-vocabularies")
        #expect(directories[1].hasSuffix("/../share/research-store/vocabularies"))
        #expect(directories.last?.hasSuffix("/Sources/Tokenizer/Vocabularies") == true)
        #expect(VocabularyLoader.searchDirectories(environment: "").count == 2)
    }
}

/// A tokenizer from a vocabulary given as text, unchecked (for the parser's errors).
func parse(_ vocabulary: String) throws -> BPETokenizer {
    try Array(vocabulary.utf8).withUnsafeBufferPointer { bytes in
        try BPETokenizer(encoding: .o200kBase, contents: bytes, path: "test", expectedSHA256: nil)
    }
}

func vocabularyDirectory() -> String {
    VocabularyLoader.searchDirectories(environment: nil).last!
}

func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "tokenizer-tests-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

extension RankTable {
    func decode(_ ids: [UInt32]) -> [UInt8] { ids.flatMap { Array(bytes(of: Int($0))) } }
}
