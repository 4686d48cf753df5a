import Crypto
import FoundationEssentials

/// Signs and verifies cursors with HMAC-SHA256, so a client can hand back only a cursor this
/// deployment issued, unchanged. Every replica behind one Service must share the key
/// (`CURSOR_SECRET`), or a page fetched from one replica cannot be continued on another.
public struct CursorSigner: Sendable {
    private let key: SymmetricKey

    /// The shortest secret accepted, in bytes.
    public static let minimumSecretBytes = 32
    /// Longer text is refused before any work is done.
    static let maximumTextBytes = 512

    public init(secret: [UInt8]) {
        precondition(secret.count >= Self.minimumSecretBytes, "a cursor secret needs at least 32 bytes")
        key = SymmetricKey(data: secret)
    }

    /// A key of this process only: cursors then break across replicas and restarts. Local runs only.
    public static func random() -> CursorSigner {
        CursorSigner(secret: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    /// base64url(payload ‖ HMAC-SHA256(payload)).
    public func encode(_ cursor: Cursor) -> String {
        let payload = Array(cursor.payload.utf8)
        let tag = HMAC<SHA256>.authenticationCode(for: payload, using: key)
        return Data(payload + Array(tag)).base64URLEncodedString()
    }

    /// The cursor of `kind` that `text` carries; `400` for anything this signer did not issue
    /// for that list, including a valid cursor with bytes added or changed.
    public func decode(_ text: String, kind: String) throws(ServiceError) -> Cursor {
        let refused = ServiceError(.malformed, "cursor was not issued by this server for this list", fieldErrors: [
            FieldError(field: "cursor", message: "was not issued by this server for this list")
        ])
        let tagBytes = SHA256.byteCount
        guard text.utf8.count <= Self.maximumTextBytes, let data = Data(base64URLEncoded: text),
            data.base64URLEncodedString() == text, data.count > tagBytes
        else { throw refused }
        let payload = data.prefix(data.count - tagBytes)
        let tag = data.suffix(tagBytes)
        guard HMAC<SHA256>.isValidAuthenticationCode(tag, authenticating: payload, using: key),
            let text = String(data: payload, encoding: .utf8),
            let cursor = Cursor(payload: text, kind: kind)
        else { throw refused }
        return cursor
    }
}
