import Crypto

/// User ids as the contract allows them: 1–128 of `A–Z a–z 0–9 . _ @ : -` (schema.sql's
/// `users_id_format`). A source id outside that form is mapped, the same way every run, to
/// `imported:` and the first 32 hex digits of its SHA-256, and the mapping is reported.
public enum UserIDMapping {
    public static func isValid(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        return (1...128).contains(bytes.count) && bytes.allSatisfy(isAllowed)
    }

    /// The id itself when valid, else its mapping.
    public static func map(_ id: [UInt8]) -> (id: String, mapped: Bool) {
        if let text = String(validating: id, as: UTF8.self), isValid(text) { return (text, false) }
        let digest = SHA256.hash(data: id)
        let hex = digest.prefix(16).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
        }.joined()
        return ("imported:" + hex, true)
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "@"), UInt8(ascii: ":"), UInt8(ascii: "-"): true
        default: false
        }
    }
}
