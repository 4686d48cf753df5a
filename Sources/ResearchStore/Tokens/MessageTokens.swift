import Tokenizer

/// A message's exact token counts in both encodings, counted when it is stored (or by
/// `research-store tokens backfill` for messages stored before).
public struct MessageTokens: Sendable, Equatable {
    public var o200kBase: Int
    public var cl100kBase: Int

    public init(o200kBase: Int, cl100kBase: Int) {
        self.o200kBase = o200kBase
        self.cl100kBase = cl100kBase
    }

    public subscript(encoding: TokenEncoding) -> Int {
        switch encoding {
        case .o200kBase: o200kBase
        case .cl100kBase: cl100kBase
        }
    }

    /// The counts of each of `contents`, in order (see `CountingThreads` for where); the tokenizers
    /// are loaded on first use. A vocabulary missing from the deployment is the server's fault:
    /// `503`, never the client's.
    static func count(_ contents: [String]) async throws -> [MessageTokens] {
        let o200k = try TokenCountService.tokenizer(.o200kBase)
        let cl100k = try TokenCountService.tokenizer(.cl100kBase)
        return try await CountingThreads.run(bytes: contents.reduce(0) { $0 + $1.utf8.count }) {
            contents.map { MessageTokens(o200kBase: o200k.count($0), cl100kBase: cl100k.count($0)) }
        }
    }
}
