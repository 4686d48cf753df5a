/// The character sets of the contract's identifiers, checked byte by byte (no regex per value).
public enum CharacterClass {
    /// `[A-Za-z0-9._@:-]`: user ids.
    public static func userID(_ byte: UInt8) -> Bool {
        lowercaseToken(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || byte == UInt8(ascii: "@")
    }

    /// `[a-z0-9_.:-]`: event and workflow types.
    public static func lowercaseToken(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"),
            UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "-"):
            return true
        default: return false
        }
    }

    /// `[a-z0-9]`.
    public static func lowercaseAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// `[A-Za-z0-9._:/-]`: result-cache keys.
    public static func cacheKey(_ byte: UInt8) -> Bool {
        lowercaseToken(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || byte == UInt8(ascii: "/")
    }

    /// True when `text` is `length` characters long (ASCII, so bytes) and every byte is allowed.
    public static func matches(_ text: String, length: ClosedRange<Int>, _ allowed: (UInt8) -> Bool) -> Bool {
        length.contains(text.utf8.count) && text.utf8.allSatisfy(allowed)
    }
}
