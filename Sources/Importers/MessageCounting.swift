import ResearchStore
import Tokenizer

/// Counts messages as `MessageService` does when it stores one without `token_count` (a source's
/// own count is not trusted): with an exact mode, both encodings are counted and `token_count` is
/// the count in the mode's encoding; with `estimate`, UTF-8 bytes / 4 rounded up, marked estimated.
struct MessageCounting: Sendable {
    let mode: TokenCountingMode
    private let o200k: BPETokenizer?
    private let cl100k: BPETokenizer?

    init(mode: TokenCountingMode) throws {
        self.mode = mode
        if case .exact = mode {
            o200k = try BPETokenizer.shared(.o200kBase)
            cl100k = try BPETokenizer.shared(.cl100kBase)
        } else {
            o200k = nil
            cl100k = nil
        }
    }

    func counts(_ content: String) -> MessageCounts {
        guard case .exact(let encoding) = mode, let o200k, let cl100k else {
            return MessageCounts(tokenCount: Message.estimatedTokens(content), estimated: true, o200k: nil, cl100k: nil)
        }
        let exact = MessageTokens(o200kBase: o200k.count(content), cl100kBase: cl100k.count(content))
        return MessageCounts(tokenCount: exact[encoding], estimated: false, o200k: exact.o200kBase, cl100k: exact.cl100kBase)
    }

    /// Fills in the counts of every message that has none, on `lanes` concurrent tasks (the
    /// importer is a batch job: it may use every core).
    func count(_ sessions: [ImportedSession], lanes: Int) async -> [ImportedSession] {
        let lanes = max(1, lanes)
        let counted = await withTaskGroup(of: (Int, [ImportedSession]).self) { group in
            for (lane, part) in Self.split(sessions, lanes: lanes).enumerated() {
                group.addTask {
                    (lane, part.map { session in
                        var session = session
                        for index in session.messages.indices where session.messages[index].counts == nil {
                            session.messages[index].counts = counts(session.messages[index].content)
                        }
                        return session
                    })
                }
            }
            var parts: [(Int, [ImportedSession])] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
        return counted
    }

    /// `sessions` cut into at most `lanes` runs of about the same number of messages.
    private static func split(_ sessions: [ImportedSession], lanes: Int) -> [[ImportedSession]] {
        let total = sessions.reduce(0) { $0 + $1.messages.count }
        var parts: [[ImportedSession]] = [[]]
        var inPart = 0
        for session in sessions {
            if inPart >= (total + lanes - 1) / lanes, parts.count < lanes {
                parts.append([])
                inPart = 0
            }
            parts[parts.count - 1].append(session)
            inPart += session.messages.count
        }
        return parts
    }
}
