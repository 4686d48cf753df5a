import FoundationEssentials
import Testing

@testable import ResearchStore

/// How a group of single stores is split into statements so that each optimistic append is the
/// first of its session in its statement (`MessageAppend.statements`).
@Suite("Optimistic appends in a group")
struct OptimisticAppendStatementsTests {
    static let a = UUID(uuidString: "00000000-0000-7000-8000-00000000000a")!
    static let b = UUID(uuidString: "00000000-0000-7000-8000-00000000000b")!

    func append(_ session: UUID, expecting seq: Int? = nil) -> MessageAppend {
        MessageAppend(
            sessionID: session, caller: Caller(userID: "u"),
            message: NewMessage(
                id: UUID(), role: "user", content: "", tokenCount: 0, tokenCountEstimated: false, model: nil,
                metadata: .object([])),
            expectedSeq: seq)
    }

    @Test("without optimistic appends, or with each first of its session, one statement in the given order")
    func oneStatement() {
        #expect(MessageAppend.statements([append(Self.a), append(Self.b), append(Self.a)]) == [[0, 1, 2]])
        #expect(MessageAppend.statements([append(Self.a, expecting: 4), append(Self.b, expecting: 1), append(Self.a)]) == [[0, 1, 2]])
        #expect(MessageAppend.statements([]) == [])
    }

    @Test("an optimistic append behind a store to its session waits for the next statement, and so do that session's later stores")
    func later() {
        let appends = [
            append(Self.a), append(Self.a, expecting: 2), append(Self.b), append(Self.a), append(Self.a, expecting: 4),
            append(Self.b, expecting: 2),
        ]
        #expect(MessageAppend.statements(appends) == [[0, 2], [1, 3, 5], [4]])
    }
}
