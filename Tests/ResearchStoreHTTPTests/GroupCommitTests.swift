import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
@testable import ResearchStore
import Synchronization
import TestSupport
import Testing

/// A figure of `/metrics` (a series without labels), or nil when it is not there.
private func metric(_ client: some TestClientProtocol, _ name: String) async throws -> Double? {
    let text = String(buffer: try await client.call(.get, "/metrics", as: "metrics-reader").body)
    let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
    return line.flatMap { Double($0.dropFirst(name.count + 1)) }
}

/// Locks the rows of `sessions` on a connection of the test's own (as another writer would)
/// until `body` calls its release function; so the group commit's first flushes wait for the
/// rows and the stores sent meanwhile queue up behind them, certainly rather than by luck.
private func holdingSessionRows<Result>(
    _ sessions: [String], _ body: (_ release: @Sendable () async throws -> Void) async throws -> Result
) async throws -> Result {
    let holder = try await TestDatabase.connect()
    do {
        try await holder.query("BEGIN")
        try await holder.query("SELECT 1 FROM sessions WHERE id = ANY(\(sessions.map { UUID(uuidString: $0)! })) FOR UPDATE")
        let result = try await body { try await holder.query("COMMIT") }
        await holder.close()
        return result
    } catch {
        await holder.close()
        throw error
    }
}

/// Sends `POST /db/messages/store` on a connection of its own; its status and, when stored, seq.
private func storeOnOwnConnection(port: Int, session: String, as user: String, content: String = "m") async throws
    -> (status: HTTPResponse.Status, seq: Int?)
{
    let (status, body) = try await callOnOwnConnection(
        port: port, .post, "/db/messages/store", as: user,
        json: #"{"session_id": "\#(session)", "role": "user", "content": "\#(content)", "token_count": 3}"#)
    let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
    return (status, status == .created ? object?["seq"] as? Int : nil)
}

@Suite("GroupCommit")
struct GroupCommitTests {
    @Test("200 concurrent stores into 10 sessions of 4 users: all 201, seqs gapless per session, far fewer commits")
    func manyConcurrentStores() async throws {
        let users = (0..<4).map { _ in uniqueUser("group") }
        try await withAPI(pool: { $0.acquireTimeout = .seconds(120) }) { client in
            var sessions: [(id: String, user: String)] = []
            for index in 0..<10 { sessions.append((try await createSession(client, user: users[index % 4]), users[index % 4])) }
            let port = try #require(client.port)
            let stored = try await holdingSessionRows(sessions.map { $0.id }) { release in
                try await withThrowingTaskGroup(of: (session: String, status: HTTPResponse.Status, seq: Int?).self) { group in
                    for index in 0..<200 {
                        let (session, user) = sessions[index % 10]
                        group.addTask {
                            let (status, seq) = try await storeOnOwnConnection(port: port, session: session, as: user)
                            return (session, status, seq)
                        }
                    }
                    // The first flushes wait for the rows; most stores are queued behind them.
                    #expect(try await waitUntil { try await metric(client, "message_store_queued") ?? 0 >= 150 })
                    try await release()
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            #expect(stored.allSatisfy { $0.status == .created }, "\(stored.map { $0.status }.filter { $0 != .created })")
            for (session, user) in sessions {
                #expect(stored.filter { $0.session == session }.compactMap { $0.seq }.sorted() == Array(1...20))
                let counters = try json(try await client.call(.get, "/db/sessions/\(session)", as: user))
                #expect(counters["message_count"] as? Int == 20)
                #expect(counters["total_tokens"] as? Int == 60)
                #expect(counters["last_message_at"] as? String != nil)
            }
            let flushes = try #require(try await metric(client, "message_store_flushes_total"))
            #expect(try await metric(client, "message_store_flushed_messages_total") == 200)
            // 200 stores, at least 150 of them queued together: a handful of statements, not 200.
            #expect(flushes <= 60, "\(flushes) flushes for 200 stores")
        }
    }

    @Test("in one group, an archived, an unknown and another user's session are refused alone; the others are stored")
    func neighboursSurvive() async throws {
        let (alice, bob) = (uniqueUser("alice"), uniqueUser("bob"))
        try await withAPI { client in
            let held = try await createSession(client, user: alice)
            let good = try await createSession(client, user: alice)
            let archived = try await createSession(client, user: alice)
            #expect(
                try await client.call(.patch, "/db/sessions/\(archived)", as: alice, json: #"{"status": "archived"}"#).status == .ok)
            let bobs = try await createSession(client, user: bob)
            let port = try #require(client.port)
            try await holdingSessionRows([held]) { release in
                try await withThrowingTaskGroup(of: (String, HTTPResponse.Status, Int?).self) { group in
                    // Two stores into the held session take both flushes, which wait for its row.
                    for flushing in 1...2 {
                        group.addTask {
                            let (status, seq) = try await storeOnOwnConnection(port: port, session: held, as: alice)
                            return ("held", status, seq)
                        }
                        #expect(try await waitUntil {
                            let running = try await metric(client, "message_store_flushing")
                            let queued = try await metric(client, "message_store_queued")
                            return running == Double(flushing) && queued == 0
                        })
                    }
                    // These queue up one by one (so in a known order), and the first flush that
                    // finishes takes them all as one group.
                    let neighbours: [(name: String, session: String, user: String)] = [
                        ("good1", good, alice), ("held3", held, alice), ("archived", archived, alice), ("good2", good, alice),
                        ("unknown", UUID().uuidString.lowercased(), alice), ("foreign", bobs, alice), ("bob", bobs, bob),
                    ]
                    for (index, (name, session, user)) in neighbours.enumerated() {
                        group.addTask {
                            let (status, seq) = try await storeOnOwnConnection(port: port, session: session, as: user)
                            return (name, status, seq)
                        }
                        #expect(try await waitUntil { try await metric(client, "message_store_queued") == Double(index + 1) })
                    }
                    try await release()
                    var outcomes: [String: [(HTTPResponse.Status, Int?)]] = [:]
                    for try await (name, status, seq) in group { outcomes[name, default: []].append((status, seq)) }
                    let statuses = outcomes.mapValues { $0.map { $0.0 } }
                    let seqs = outcomes.mapValues { $0.compactMap { $0.1 }.sorted() }
                    #expect(statuses["held"] == [.created, .created])
                    // The second held flush and the group both wait for the held row once it is
                    // released, in either order (neither was answered before the other arrived):
                    // the held session's three stores get 1, 2 and 3 between them, no gap.
                    #expect(statuses["held3"] == [.created])
                    #expect(((seqs["held"] ?? []) + (seqs["held3"] ?? [])).sorted() == [1, 2, 3])
                    // Within the group, each session's stores are numbered in the order they came.
                    #expect(statuses["good1"] == [.created] && seqs["good1"] == [1])
                    #expect(statuses["good2"] == [.created] && seqs["good2"] == [2])
                    #expect(statuses["bob"] == [.created] && seqs["bob"] == [1])
                    #expect(statuses["archived"] == [.conflict])
                    #expect(statuses["unknown"] == [.notFound])
                    #expect(statuses["foreign"] == [.notFound])
                }
            }
            // Three statements: the two that waited for the row, then one with all seven neighbours.
            #expect(try await metric(client, "message_store_flushes_total") == 3)
            #expect(try await metric(client, "message_store_flushed_messages_total") == 9)
            let counts = [(held, alice, 3), (good, alice, 2), (archived, alice, 0), (bobs, bob, 1)]
            for (session, user, count) in counts {
                let counters = try json(try await client.call(.get, "/db/sessions/\(session)", as: user))
                #expect(counters["message_count"] as? Int == count)
                #expect(counters["total_tokens"] as? Int == count * 3)
            }
        }
    }

    @Test("concurrent session creates share a statement and its commit; each gets its own session and owner")
    func groupedCreates() async throws {
        let blocker = uniqueUser("blocker")
        let owners = (0..<10).map { uniqueUser("owner\($0)") }
        try await withPool { pool in
            let sessions = SessionService(pool: pool, cursors: .random())
            func create(_ owner: String) -> Task<Session, any Error> {
                Task { try await sessions.create(caller: Caller(userID: owner), body: .object([("title", .string("t"))])) }
            }
            try await TestDatabase.withConnection { lock in
                // An uncommitted insert of the blocker's users row makes both flushes that
                // register that owner wait; ten more creates queue behind them meanwhile.
                try await lock.query("BEGIN")
                try await lock.query("INSERT INTO users (id) VALUES (\(blocker))")
                let first = create(blocker)
                #expect(try await waitUntil { sessions.groupCommitStatistics.flushing == 1 && sessions.groupCommitStatistics.queued == 0 })
                let second = create(blocker)
                #expect(try await waitUntil { sessions.groupCommitStatistics.flushing == 2 && sessions.groupCommitStatistics.queued == 0 })
                let held = [first, second]
                let queued = owners.map(create)
                #expect(try await waitUntil { sessions.groupCommitStatistics.queued == 10 })
                try await lock.query("ROLLBACK")
                for task in held { #expect(try await task.value.userID == blocker) }
                var ids: Set<UUID> = []
                for (task, owner) in zip(queued, owners) {
                    let session = try await task.value
                    #expect(session.userID == owner && session.title == "t")
                    ids.insert(session.id)
                }
                #expect(ids.count == 10)
                let stored = try await lock.query("SELECT count(*) FROM sessions WHERE id = ANY(\(Array(ids)))")
                #expect(try stored[0].decode(0, as: Int.self) == 10)
            }
            // Two flushes held, then the ten queued creates in one.
            #expect(sessions.groupCommitStatistics.flushes == 3)
            #expect(sessions.groupCommitStatistics.items == 12)
        }
    }

    @Test("a lone store is one flush of one, answered at once")
    func loneStore() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let response = try await client.call(
                .post, "/db/messages/store", as: user, json: #"{"session_id": "\#(session)", "role": "user", "content": "alone"}"#)
            #expect(response.status == .created)
            #expect(try json(response)["seq"] as? Int == 1)
            #expect(try await metric(client, "message_store_flushes_total") == 1)
            #expect(try await metric(client, "message_store_flushed_messages_total") == 1)
            #expect(try await metric(client, "message_store_flushing") == 0)
        }
    }

    @Test("a store with an Idempotency-Key commits with its key, outside the group commit")
    func idempotentStore() async throws {
        let user = uniqueUser()
        try await withAPI { client in
            let session = try await createSession(client, user: user)
            let body = #"{"session_id": "\#(session)", "role": "user", "content": "once"}"#
            let headers: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "group-commit-\(UUID())"]
            let first = try await client.call(.post, "/db/messages/store", as: user, json: body, headers: headers)
            #expect(first.status == .created)
            let replay = try await client.call(.post, "/db/messages/store", as: user, json: body, headers: headers)
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try json(replay)["id"] as? String == json(first)["id"] as? String)
            #expect(try await metric(client, "message_store_flushes_total") ?? 0 == 0)
        }
    }

    @Test("a store cancelled while queued is dropped with CancellationError; one in a flush task commits")
    func cancellation() async throws {
        let user = uniqueUser()
        let session = UUID()
        try await TestDatabase.withConnection { connection in
            try await connection.query("INSERT INTO users (id) VALUES (\(user))")
            try await connection.query("INSERT INTO sessions (id, user_id, title) VALUES (\(session), \(user), 't')")
        }
        let body = JSONValue.object([("session_id", .string(session.uuidString)), ("role", .string("user")), ("content", .string("c"))])
        try await withPool { pool in
            let messages = MessageService(pool: pool, cursors: .random(), groupCommit: .init(maximumFlushes: 2))
            let caller = Caller(userID: user)
            let seqs = try await holdingSessionRows([session.uuidString]) { release in
                // The first store, alone, is written by its own task; the second starts a flush task.
                let lone = Task { try await messages.store(caller: caller, body: body) }
                #expect(try await waitUntil { messages.groupCommitStatistics.flushing == 1 })
                let flushing = Task { try await messages.store(caller: caller, body: body) }
                #expect(try await waitUntil { messages.groupCommitStatistics.flushing == 2 && messages.groupCommitStatistics.queued == 0 })
                let queued = Task { try await messages.store(caller: caller, body: body) }
                #expect(try await waitUntil { messages.groupCommitStatistics.queued == 1 })
                queued.cancel()
                await #expect(throws: CancellationError.self) { try await queued.value }
                #expect(messages.groupCommitStatistics.queued == 0)
                flushing.cancel()
                try await release()
                return [try await lone.value.seq, try await flushing.value.seq].sorted()
            }
            #expect(seqs == [1, 2])
            #expect(messages.groupCommitStatistics.flushes == 2)
            #expect(messages.groupCommitStatistics.items == 2)
        }
        let count = try await TestDatabase.withConnection { connection in
            try await connection.query("SELECT message_count FROM sessions WHERE id = \(session)")[0].decode(0, as: Int.self)
        }
        #expect(count == 2)
    }

    @Test("a lone write runs on its caller's task; writes that queue meanwhile go to one flush task afterwards")
    func loneWriteOnItsOwnTask() async throws {
        let gate = AsyncStream<Void>.makeStream()
        let groups = Mutex<[[Int]]>([])
        let commit = GroupCommit<Numbered, Bool>(limits: .init(maximumFlushes: 1), write: { items in
            if items.map(\.id) == [0] { for await _ in gate.stream { break } }
            groups.withLock { $0.append(items.map(\.id)) }
            return items.map { .success(Numbered.caller == $0.id) }
        })
        let lone = Task { try await Numbered.$caller.withValue(0) { try await commit.write(Numbered(id: 0)) } }
        #expect(try await waitUntil { commit.statistics.flushing == 1 })
        var queued: [Task<Bool, any Error>] = []
        for id in 1...3 {
            queued.append(Task { try await Numbered.$caller.withValue(id) { try await commit.write(Numbered(id: id)) } })
            #expect(try await waitUntil { commit.statistics.queued == id })
        }
        gate.continuation.yield()
        #expect(try await lone.value, "the lone write saw its caller's task-local: it ran on the caller's task")
        for task in queued { #expect(try await task.value == false, "a queued write runs in a flush task of its own") }
        #expect(groups.withLock { $0 } == [[0], [1, 2, 3]])
        #expect(commit.statistics == GroupCommitStatistics(flushes: 2, items: 4, queued: 0, flushing: 0))
    }
}

/// An item of `loneWriteOnItsOwnTask`, and the task-local that tells whose task a write runs on.
private struct Numbered: Sendable, Identifiable {
    var id: Int
    @TaskLocal static var caller: Int?
}
