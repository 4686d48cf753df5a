import Tokenizer

/// What a stored message's `token_count` falls back to when the client sends none
/// (`TOKEN_ENCODING`).
public enum TokenCountingMode: Sendable, Equatable {
    /// v1: UTF-8 bytes / 4, rounded up, marked `token_count_estimated`; nothing is counted when
    /// a message is stored (its `tokens` stay `null` until a backfill).
    case estimate
    /// Both encodings are counted when a message is stored; `token_count` falls back to the count
    /// in this one.
    case exact(TokenEncoding)

    /// The default of a deployment: `o200k_base`, the encoding of current OpenAI models.
    public static let `default` = TokenCountingMode.exact(.o200kBase)

    /// `estimate`, `o200k_base` or `cl100k_base`; nil for anything else.
    public init?(setting: String) {
        if setting == "estimate" {
            self = .estimate
        } else if let encoding = TokenEncoding(rawValue: setting) {
            self = .exact(encoding)
        } else {
            return nil
        }
    }

    /// The value that `init(setting:)` reads.
    public var setting: String {
        switch self {
        case .estimate: "estimate"
        case .exact(let encoding): encoding.rawValue
        }
    }
}
