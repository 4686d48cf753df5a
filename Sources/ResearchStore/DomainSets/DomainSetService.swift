import FoundationEssentials
import PostgresPool

/// Domain sets: named lists of host names a research workflow may search. Anyone may read them;
/// writes need the admin role and are audited.
public struct DomainSetService: Sendable {
    let store: DomainSetStore
    let cursors: CursorSigner

    public init(pool: PostgresPool, cursors: CursorSigner) {
        store = DomainSetStore(pool: pool)
        self.cursors = cursors
    }

    static let nameDescription = "1 to 64 characters of [a-z0-9_-]"
    static let listLimit = Paging(defaultLimit: 50, maximumLimit: 200)

    /// `POST /db/domain-sets`: `{"name", "description"?, "domains", "metadata"?}`.
    public func create(caller: Caller, body: JSONValue) async throws -> DomainSet {
        var input = InputReader(body)
        let name = input.string("name", length: 1...64, allowed: DomainSet.nameCharacter, description: Self.nameDescription)
        let content = Self.readContent(&input)
        try input.finish()
        try requireAdmin(caller)
        do {
            return try await database(table: "domain_sets") { try await store.create(name: name!, content: content!, actor: caller) }
        } catch let error as ServiceError where error.kind == .conflict {
            throw ServiceError(
                .conflict, "a domain set named \(name!) already exists; PUT /db/domain-sets/\(name!) replaces it",
                fieldErrors: [FieldError(field: "name", message: "is taken")])
        }
    }

    /// `PUT /db/domain-sets/{name}`: replaces the set whole (omitted description and metadata
    /// become empty), creating it when missing. `created` is true for a new set.
    public func replace(caller: Caller, name: String, body: JSONValue) async throws -> (set: DomainSet, created: Bool) {
        guard DomainSet.isValidName(name) else { throw ServiceError.notFound("domain set") }
        var input = InputReader(body)
        if let sent = input.string("name", required: false, length: 0...Int.max), sent != name {
            input.fail("name", "must match the name in the path")
        }
        let content = Self.readContent(&input)
        try input.finish()
        try requireAdmin(caller)
        return try await database(table: "domain_sets") { try await store.replace(name: name, content: content!, actor: caller) }
    }

    /// `DELETE /db/domain-sets/{name}`.
    public func delete(caller: Caller, name: String) async throws {
        guard DomainSet.isValidName(name) else { throw ServiceError.notFound("domain set") }
        try requireAdmin(caller)
        let deleted = try await database(table: "domain_sets") { try await store.delete(name: name, actor: caller) }
        if !deleted { throw ServiceError.notFound("domain set") }
    }

    /// `GET /db/domain-sets/{name}`.
    public func get(name: String) async throws -> DomainSet {
        guard DomainSet.isValidName(name) else { throw ServiceError.notFound("domain set") }
        let found = try await database(table: "domain_sets") { try await store.find(name: name) }
        guard let found else { throw ServiceError.notFound("domain set") }
        return found
    }

    /// `GET /db/domain-sets?limit=&cursor=`: by name.
    public func list(query: [String: String]) async throws -> Page<DomainSet> {
        var reader = QueryReader(query)
        let limit = reader.limit(Self.listLimit)
        try reader.finish()
        let cursor = try reader.cursor(kind: "domain-sets", signer: cursors)
        if let cursor, !(cursor.name.map(DomainSet.isValidName) ?? false) {
            throw ServiceError(.malformed, "cursor was not issued by this server for this list")
        }
        let sets = try await database(table: "domain_sets") { try await store.list(after: cursor?.name, limit: limit + 1) }
        return Page(items: sets, limit: limit, signer: cursors) { Cursor(kind: "domain-sets", position: 0, name: $0.name) }
    }

    private func requireAdmin(_ caller: Caller) throws {
        guard caller.isAdmin else { throw ServiceError(.forbidden, "writing domain sets needs the admin role") }
    }

    /// `description` (≤ 1000 characters), `domains` (1–1000 host names, lower-cased, duplicates
    /// dropped) and `metadata`.
    static func readContent(_ input: inout InputReader) -> DomainSetContent? {
        let description = input.string("description", required: false, length: 0...1000)
        var seen = Set<String>()
        let domains = input.array("domains", count: 1...1000) { reader, item, path -> String? in
            guard case .string(let text) = item, let host = HostName.normalized(text) else {
                reader.merge([FieldError(field: path, message: "must be a host name such as example.org")])
                return nil
            }
            return host
        }
        let metadata = input.object("metadata")
        guard let domains, input.errors.isEmpty else { return nil }
        let unique = domains.filter { seen.insert($0).inserted }
        return DomainSetContent(description: description ?? "", domains: unique, metadata: metadata ?? .object([]))
    }
}
