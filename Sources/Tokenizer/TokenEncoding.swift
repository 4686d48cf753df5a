/// The OpenAI byte-pair encodings this module reproduces, named as `tiktoken` names them.
///
/// `o200kBase` is the encoding of the GPT-4o / o-series models, `cl100kBase` the one of
/// GPT-4 and GPT-3.5; each has its own split pattern and vocabulary.
public enum TokenEncoding: String, Sendable, CaseIterable {
    case o200kBase = "o200k_base"
    case cl100kBase = "cl100k_base"

    /// The vocabulary file's name, `<name>.tiktoken`, as tiktoken and the vendored folder call it.
    public var vocabularyFileName: String { rawValue + ".tiktoken" }

    /// The SHA-256 of the vocabulary file (the same value tiktoken pins in `openai_public.py`),
    /// lowercase hex. The loader refuses a file that does not hash to it.
    public var vocabularySHA256: String {
        switch self {
        case .o200kBase: "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
        case .cl100kBase: "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
        }
    }

    /// How many lines (ranks 0 ..< count) the vocabulary has; a cheap second check of the file.
    var vocabularySize: Int {
        switch self {
        case .o200kBase: 199_998
        case .cl100kBase: 100_256
        }
    }
}
