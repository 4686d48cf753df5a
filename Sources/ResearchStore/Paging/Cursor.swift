import Foundation

/// An opaque keyset cursor: the sort key of the last item of a page, base64url-encoded with a
/// kind tag, so a cursor of one list is refused by another. A cursor this server did not issue
/// fails to decode and is answered `400`.
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

    public var encoded: String {
        var text = "v1|\(kind)|\(position)|\(id?.lowercased ?? "")"
        if let name { text += "|\(name)" }
        return Data(text.utf8).base64URLEncodedString()
    }

    /// Decodes a cursor of `kind`; throws `malformed` for anything else.
    public static func decode(_ text: String, kind: String) throws(ServiceError) -> Cursor {
        let refused = ServiceError(.malformed, "cursor was not issued by this server for this list")
        guard text.utf8.count <= 200 else { throw refused }
        guard let data = Data(base64URLEncoded: text), let decoded = String(data: data, encoding: .utf8) else {
            throw refused
        }
        let parts = decoded.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 4 || parts.count == 5, parts[0] == "v1", parts[1] == kind, let position = Int64(parts[2]) else { throw refused }
        let id: UUID?
        if parts[3].isEmpty {
            id = nil
        } else {
            guard let parsed = UUID(uuidString: String(parts[3])) else { throw refused }
            id = parsed
        }
        return Cursor(kind: kind, position: position, id: id, name: parts.count == 5 ? String(parts[4]) : nil)
    }
}

extension Date {
    /// Whole milliseconds since the epoch (stored timestamps have no finer part).
    var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    init(millisecondsSince1970 milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
