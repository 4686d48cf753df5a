import Foundation

/// Time-ordered UUIDs (version 7): the first 48 bits are the Unix time in milliseconds, so ids
/// sort by creation and keep B-tree inserts local.
public enum UUIDv7 {
    public static func make(at date: Date = Date()) -> UUID {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - index))) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9],
                bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}

/// Who is calling: a user id of 1–128 characters of `[A-Za-z0-9._@:-]`, possibly an admin.
public struct Caller: Sendable, Equatable {
    public var userID: String
    public var isAdmin: Bool

    public init(userID: String, isAdmin: Bool = false) {
        self.userID = userID
        self.isAdmin = isAdmin
    }

    /// The pattern every user id matches.
    public static let userIDPattern = "[A-Za-z0-9._@:-]{1,128}"

    public static func isValidUserID(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "@"),
                    UInt8(ascii: ":"), UInt8(ascii: "-"):
                    return true
                default: return false
                }
            }
    }
}
