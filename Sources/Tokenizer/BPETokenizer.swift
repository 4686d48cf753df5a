import Synchronization

/// A byte-pair-encoding tokenizer that gives the same token ids as OpenAI's `tiktoken`
/// (`Encoding.encode_ordinary`) for one `TokenEncoding`, so that token counts and budgets
/// computed here match what the models are billed and limited by.
///
/// Text is split with the encoding's pattern (a hand-written scanner, no regex engine), and each
/// piece is merged byte pair by byte pair in rank order, as tiktoken does. Special-token text
/// such as `<|endoftext|>` is ordinary text. Immutable and thread-safe; use `shared(_:)`, which
/// loads each vocabulary (3.6 MB for o200k_base) once per process.
public final class BPETokenizer: @unchecked Sendable {
    // @unchecked: the table and the scalar classes are raw memory written only during init.

    /// The encoding this tokenizer implements.
    public let encoding: TokenEncoding
    let table: RankTable
    let classes: UnsafePointer<UInt8>
    /// The longest token in bytes: longer pieces skip the whole-piece lookup.
    let longestToken: Int

    /// Loads the encoding's vocabulary from `vocabularyDirectory`, or else from the first of
    /// `$TOKENIZER_VOCABULARY_DIR`, `<executable's directory>/../share/research-store/vocabularies`
    /// and the source tree that has it, and checks its SHA-256.
    public convenience init(encoding: TokenEncoding, vocabularyDirectory: String? = nil) throws(TokenizerLoadError) {
        let directories = vocabularyDirectory.map { [$0] } ?? VocabularyLoader.searchDirectories()
        let path = try VocabularyLoader.locate(encoding, in: directories)
        let file = try VocabularyLoader.MappedFile(path)
        try self.init(encoding: encoding, contents: file.bytes, path: path, expectedSHA256: encoding.vocabularySHA256)
    }

    /// Parses `contents` (a `.tiktoken` file); checks its SHA-256 when `expectedSHA256` is given.
    init(
        encoding: TokenEncoding, contents: UnsafeBufferPointer<UInt8>, path: String, expectedSHA256: String?
    ) throws(TokenizerLoadError) {
        if let expected = expectedSHA256 {
            let actual = SHA256.hexDigest(UnsafeRawBufferPointer(contents))
            guard actual == expected else { throw .checksumMismatch(path: path, expected: expected, actual: actual) }
        }
        self.encoding = encoding
        self.table = try VocabularyLoader.parse(contents, path: path)
        self.classes = ScalarClass.table
        var longest = 0
        for rank in 0..<table.count { longest = max(longest, table.bytes(of: rank).count) }
        self.longestToken = longest
    }

    /// Where `shared(encoding)` would load the vocabulary from, without loading it: a cheap
    /// start-up check that a deployment has its files.
    public static func vocabularyPath(_ encoding: TokenEncoding) throws(TokenizerLoadError) -> String {
        try VocabularyLoader.locate(encoding, in: VocabularyLoader.searchDirectories())
    }

    private static let loaded = Mutex<[TokenEncoding: BPETokenizer]>([:])

    /// The process-wide tokenizer of `encoding`, loaded on first use (tens of milliseconds; the
    /// lock is held meanwhile, so concurrent first callers wait instead of loading twice). A
    /// failed load is not remembered: the next call tries again.
    public static func shared(_ encoding: TokenEncoding) throws(TokenizerLoadError) -> BPETokenizer {
        try loaded.withLock { (tokenizers) throws(TokenizerLoadError) -> BPETokenizer in
            if let tokenizer = tokenizers[encoding] { return tokenizer }
            let tokenizer = try BPETokenizer(encoding: encoding)
            tokenizers[encoding] = tokenizer
            return tokenizer
        }
    }

    /// The token ids of `text`, as tiktoken's `encode_ordinary`.
    public func encode(_ text: String) -> [UInt32] {
        var sink = IDSink()
        var text = text
        text.withUTF8 { bytes in
            sink.ids.reserveCapacity(bytes.count / 3 + 1)
            run(bytes, &sink)
        }
        return sink.ids
    }

    /// The token ids of UTF-8 `bytes`; invalid sequences count as U+FFFD, as in
    /// `String(decoding:as:)`.
    public func encode(utf8 bytes: some Collection<UInt8>) -> [UInt32] {
        encode(String(decoding: bytes, as: UTF8.self))
    }

    /// How many tokens `encode(text)` returns, without building the array.
    public func count(_ text: String) -> Int {
        var sink = CountSink()
        var text = text
        text.withUTF8 { run($0, &sink) }
        return sink.count
    }

    /// How many tokens `encode(utf8:)` returns.
    public func count(utf8 bytes: some Collection<UInt8>) -> Int {
        count(String(decoding: bytes, as: UTF8.self))
    }

    /// The bytes of the tokens, concatenated (for valid ids of this encoding; others are skipped).
    public func decodeBytes(_ ids: some Sequence<UInt32>) -> [UInt8] {
        var bytes: [UInt8] = []
        for id in ids where Int(id) < table.count { bytes.append(contentsOf: table.bytes(of: Int(id))) }
        return bytes
    }

    /// Splits valid UTF-8 into pieces and appends each piece's tokens to `sink`.
    @inline(__always)
    private func run<Sink: TokenSink>(_ text: UnsafeBufferPointer<UInt8>, _ sink: inout Sink) {
        guard let base = text.baseAddress, !text.isEmpty else { return }
        let splitter = PreTokenizer(bytes: base, count: text.count, classes: classes)
        var scratch = MergeScratch()
        var start = 0
        switch encoding {
        case .o200kBase:
            while start < text.count {
                let end = splitter.o200kPieceEnd(from: start)
                encodePiece(base + start, end - start, &scratch, &sink)
                start = end
            }
        case .cl100kBase:
            while start < text.count {
                let end = splitter.cl100kPieceEnd(from: start)
                encodePiece(base + start, end - start, &scratch, &sink)
                start = end
            }
        }
    }

    @inline(__always)
    private func encodePiece<Sink: TokenSink>(
        _ piece: UnsafePointer<UInt8>, _ length: Int, _ scratch: inout MergeScratch, _ sink: inout Sink
    ) {
        if length <= longestToken {
            let rank = table.rank(of: piece, length)
            if rank != RankTable.absent {
                sink.append(rank)
                return
            }
        }
        table.bytePairEncode(piece, length, &scratch, &sink)
    }
}
