import FoundationEssentials
import PostgresPool

/// Research requests: created pending, moved through the status machine by conditional updates
/// that the database arbitrates, every transition recorded.
public struct ResearchService: Sendable {
    let store: ResearchRequestStore
    let cursors: CursorSigner

    public init(pool: PostgresPool, cursors: CursorSigner) {
        store = ResearchRequestStore(pool: pool)
        self.cursors = cursors
    }

    static let typeDescription = "1 to 64 characters of [a-z0-9_.:-]"
    static let listLimit = Paging(defaultLimit: 50, maximumLimit: 200)

    /// `POST /db/research/create`: `{"session_id", "question", "workflow_type", "parameters"?}`.
    public func create(caller: Caller, body: JSONValue) async throws -> ResearchRequest {
        var input = InputReader(body)
        let sessionID = input.uuid("session_id")
        let question = input.string("question", length: 1...10_000)
        let workflowType = input.string(
            "workflow_type", length: 1...64, allowed: CharacterClass.lowercaseToken, description: Self.typeDescription)
        let parameters = input.object("parameters")
        try input.finish()
        let request = try await database(table: "research_requests") {
            try await store.create(
                id: UUIDv7.make(), sessionID: sessionID!, caller: caller, question: question!, workflowType: workflowType!,
                parameters: parameters ?? .object([]))
        }
        guard let request else { throw ServiceError.notFound("session") }
        return request
    }

    /// `GET /db/research/{id}`.
    public func get(caller: Caller, id: String) async throws -> ResearchRequest {
        try await lookUp("research request", id: id, table: "research_requests") { id in
            try await AdminReadAudit(pool: store.pool).reading(caller, .research(id)) { try await store.find(id: id, caller: caller) }
        }
    }

    /// `PATCH /db/research/{id}`: `{"status", "result"?, "error"?, "sources"?}`.
    /// `completed` needs `result`, `failed` needs `error`; a transition the status machine does not
    /// allow is `409` naming the current status.
    public func update(caller: Caller, id: String, body: JSONValue) async throws -> ResearchRequest {
        var input = InputReader(body)
        let status = input.choice("status", of: ResearchRequest.statuses)
        let result = input.object("result")
        let error = input.string("error", required: false, nullable: true, length: 1...4000)
        let sources = input.array("sources", required: false, count: 0...500) { reader, item, path -> String? in
            guard case .string(let text) = item, (1...2048).contains(text.unicodeScalars.count) else {
                reader.merge([FieldError(field: path, message: "must be a string of 1 to 2048 characters")])
                return nil
            }
            return text
        }
        if status == "completed", result == nil, input.errors.allSatisfy({ $0.field != "result" }) {
            input.fail("result", "is required to complete a research request")
        }
        if status == "failed", error == nil, input.errors.allSatisfy({ $0.field != "error" }) {
            input.fail("error", "is required to fail a research request")
        }
        try input.finish()
        guard let id = UUID(uuidString: id) else { throw ServiceError.notFound("research request") }
        let outcome = try await database(table: "research_requests") {
            try await store.transition(id: id, caller: caller, to: status!, result: result, error: error, sources: sources)
        }
        switch outcome {
        case .notFound:
            throw ServiceError.notFound("research request")
        case .refused(let current):
            throw ServiceError(
                .conflict, "a research request that is \(current) cannot become \(status!)", currentStatus: current)
        case .leaseHeldByAnother:
            throw ServiceError(
                .conflict, "a worker claimed this research request: only its lease holder, while the lease lives, or an admin may \(status!) it",
                currentStatus: "running")
        case .changed(let request):
            return request
        }
    }

    static let leaseSeconds = 10...3600
    static let defaultLeaseSeconds = 60

    /// `POST /db/research/claim`: `{"workflow_types"?, "lease_seconds"?}` → the oldest pending
    /// request (of those types), now running under the caller's lease; nil when there is none.
    /// Workers and admins only.
    public func claim(caller: Caller, body: JSONValue) async throws -> ResearchRequest? {
        var input = InputReader(body)
        let types = input.array("workflow_types", required: false, count: 0...100) { reader, item, path -> String? in
            guard case .string(let text) = item, CharacterClass.matches(text, length: 1...64, CharacterClass.lowercaseToken) else {
                reader.merge([FieldError(field: path, message: "must be \(Self.typeDescription)")])
                return nil
            }
            return text
        }
        let lease = input.integer("lease_seconds", required: false, in: Int64(Self.leaseSeconds.lowerBound)...Int64(Self.leaseSeconds.upperBound))
        try input.finish()
        try Self.requireWorker(caller)
        return try await database(table: "research_requests") {
            try await store.claim(
                worker: caller.userID, workflowTypes: types ?? [], leaseSeconds: lease.map { Int($0) } ?? Self.defaultLeaseSeconds)
        }
    }

    /// `POST /db/research/{id}/heartbeat`: `{"lease_seconds"?}` → the request with its lease
    /// renewed from now; `409` when the caller no longer holds it. Workers and admins only.
    public func heartbeat(caller: Caller, id: String, body: JSONValue) async throws -> ResearchRequest {
        var input = InputReader(body)
        let lease = input.integer("lease_seconds", required: false, in: Int64(Self.leaseSeconds.lowerBound)...Int64(Self.leaseSeconds.upperBound))
        try input.finish()
        try Self.requireWorker(caller)
        guard let id = UUID(uuidString: id) else { throw ServiceError.notFound("research request") }
        let outcome = try await database(table: "research_requests") {
            try await store.renew(id: id, worker: caller.userID, leaseSeconds: lease.map { Int($0) } ?? Self.defaultLeaseSeconds)
        }
        switch outcome {
        case .notFound: throw ServiceError.notFound("research request")
        case .notHeld: throw ServiceError(.conflict, "the caller does not hold a live lease on this research request")
        case .renewed(let request): return request
        }
    }

    private static func requireWorker(_ caller: Caller) throws {
        guard caller.seesAllResearch else { throw ServiceError(.forbidden, "only workers (and admins) claim research requests") }
    }

    /// `GET /db/research?session_id=&status=&workflow_type=&limit=&cursor=`, newest first.
    public func list(caller: Caller, query: [String: String]) async throws -> Page<ResearchRequest> {
        var reader = QueryReader(query)
        let sessionID = reader.uuid("session_id")
        let status = reader.choice("status", of: ResearchRequest.statuses)
        let workflowType = reader.string(
            "workflow_type", length: 1...64, allowed: CharacterClass.lowercaseToken, description: Self.typeDescription)
        let limit = reader.limit(Self.listLimit)
        try reader.finish()
        let cursor = try reader.timeCursor(kind: "research", signer: cursors)
        let requests = try await database(table: "research_requests") {
            try await store.list(
                caller: caller, sessionID: sessionID, status: status, workflowType: workflowType, after: cursor,
                limit: limit + 1)
        }
        guard let requests else { throw ServiceError.notFound("session") }
        return Page(items: requests, limit: limit, signer: cursors) {
            Cursor(kind: "research", position: $0.createdAt.millisecondsSince1970, id: $0.id)
        }
    }
}
