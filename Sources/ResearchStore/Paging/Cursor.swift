import FoundationEssentials

/// A keyset cursor: the sort key of the last item of a page, tagged with its list's kind so a
/// cursor of one list is refused by another. Clients see it only as `CursorSigner` text.
public struct Cursor: Sendable, Equatable {
    public var kind: String
    /// Milliseconds since the epoch, or a sequence number.
    public var position: Int64
    public var id: UUID?
    /// A text sort key (e.g. a domain-set name), never containing `|`.
    public var name: String?

    public init(kind: String, position: Int64, id: UUID? = nil, name: String? = nil) {
        self.kind = kind
        self.position = position
        self.id = id
        self.name = name
    }

    /// `v1|kind|position|id[|name]`, the signed payload.
    var payload: String {
        var text = "v1|\(kind)|\(position)|\(id?.lowercased ?? "")"
        if let name { text += "|\(name)" }
        return text
    }

    /// Parses a payload of `kind`; nil for anything else.
    init?(payload: String, kind: String) {
        let parts = payload.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 4 || parts.count == 5, parts[0] == "v1", parts[1] == kind,
            let position = Int64(parts[2])
        else { return nil }
        var id: UUID?
        if !parts[3].isEmpty {
            guard let parsed = UUID(uuidString: String(parts[3])) else { return nil }
            id = parsed
        }
        self.init(kind: kind, position: position, id: id, name: parts.count == 5 ? String(parts[4]) : nil)
    }

    /// The position read as a time: nil when it is not a millisecond PostgreSQL can hold.
    public var positionDate: Date? { Timestamp.date(millisecondsSince1970: position) }
}

extension Date {
    /// Whole milliseconds since the epoch (stored timestamps have no finer part); clamped to
    /// what PostgreSQL holds, so it never traps.
    var millisecondsSince1970: Int64 { Timestamp.clampedMilliseconds(self) }
}
