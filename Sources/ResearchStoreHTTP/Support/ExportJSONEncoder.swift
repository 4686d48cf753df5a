import Hummingbird
import ResearchStore

/// Turns the parts of a user's export into the export document,
/// `{"user", "sessions": [Session + "messages" + "research"], "feedback", "llm_usage", "analytics_events"}`,
/// handing back a chunk to send whenever enough bytes have gathered.
struct ExportJSONEncoder {
    /// Bytes gathered before a chunk is handed back.
    static let chunkSize = 64 * 1024

    /// The array being written, and whether an item has been written to it yet.
    private enum Section { case sessions, messages, research, feedback, llmUsage, analyticsEvents }
    private var section: Section?
    private var empty = true
    private var buffer: [UInt8] = []

    init() {
        buffer.reserveCapacity(Self.chunkSize * 2)
    }

    /// Appends `part`; returns a chunk to send when the buffer is full enough.
    mutating func encode(_ part: UserExportPart) -> ByteBuffer? {
        switch part {
        case .user(let user):
            append("{\"user\":")
            user.json.write(to: &buffer)
            append(",\"sessions\":[")
            open(.sessions)
        case .session(let session):
            if !empty { append(",") }
            empty = false
            session.json.write(to: &buffer)
            buffer.removeLast()  // the closing brace: the session's arrays follow
            append(",\"messages\":[")
            open(.messages)
        case .messages(let page):
            items(page.map(\.json))
        case .research(let page):
            if section == .messages {
                append("],\"research\":[")
                open(.research)
            }
            items(page.map(\.json))
        case .sessionEnd:
            append("]}")
            section = .sessions
            empty = false
        case .feedback(let page):
            switchTo(.feedback, key: "feedback")
            items(page.map(\.json))
        case .llmUsage(let page):
            switchTo(.llmUsage, key: "llm_usage")
            items(page.map(\.json))
        case .analyticsEvents(let page):
            switchTo(.analyticsEvents, key: "analytics_events")
            items(page.map(\.json))
        }
        return buffer.count >= Self.chunkSize ? take() : nil
    }

    /// Closes the document and returns what is left to send.
    mutating func finish() -> ByteBuffer {
        append("]}")
        return take()
    }

    private mutating func switchTo(_ next: Section, key: String) {
        guard section != next else { return }
        append("],\"\(key)\":[")
        open(next)
    }

    private mutating func open(_ next: Section) {
        section = next
        empty = true
    }

    private mutating func items(_ values: [JSONValue]) {
        for value in values {
            if !empty { append(",") }
            empty = false
            value.write(to: &buffer)
        }
    }

    private mutating func append(_ text: String) {
        buffer.append(contentsOf: text.utf8)
    }

    private mutating func take() -> ByteBuffer {
        defer { buffer.removeAll(keepingCapacity: true) }
        return ByteBuffer(bytes: buffer)
    }
}
