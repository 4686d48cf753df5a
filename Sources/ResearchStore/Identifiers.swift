import FoundationEssentials
import Synchronization

/// Time-ordered UUIDs (version 7): the first 48 bits are the Unix time in milliseconds, so ids
/// sort by creation and keep B-tree inserts local.
public enum UUIDv7 {
    /// The last millisecond and sequence handed out, so ids made by this process in the same
    /// millisecond still sort in the order they were made (RFC 9562, method 1: a counter in rand_a).
    private static let last = Mutex<(milliseconds: UInt64, sequence: UInt16)>((0, 0))

    public static func make(at date: Date = Date()) -> UUID {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let seconds = date.timeIntervalSince1970
        let requested: UInt64 = seconds.isFinite && seconds > 0 ? UInt64(min(seconds * 1000, Double(1 << 47))) : 0
        let (milliseconds, sequence) = last.withLock { last -> (UInt64, UInt16) in
            if requested > last.milliseconds || last.sequence >= 0x0FFF {
                last = (max(requested, last.milliseconds + (requested > last.milliseconds ? 0 : 1)), UInt16.random(in: 0...0x07FF))
            } else {
                last.sequence += 1
            }
            return last
        }
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - index))) }
        bytes[6] = 0x70 | UInt8(sequence >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: sequence)
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
    /// The role `worker`: claims and runs research requests, and sees every one of them.
    public var isWorker: Bool

    public init(userID: String, isAdmin: Bool = false, isWorker: Bool = false) {
        self.userID = userID
        self.isAdmin = isAdmin
        self.isWorker = isWorker
    }

    /// Admins and workers see every research request; others only those of their sessions.
    var seesAllResearch: Bool { isAdmin || isWorker }

    /// 1–128 characters of `[A-Za-z0-9._@:-]`.
    public static func isValidUserID(_ id: String) -> Bool {
        CharacterClass.matches(id, length: 1...128, CharacterClass.userID)
    }

    public static let userIDDescription = "1 to 128 characters of [A-Za-z0-9._@:-]"
}

extension UUID {
    /// The canonical lower-case form, as the API writes ids.
    public var lowercased: String {
        let hex = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(36)
        withUnsafeBytes(of: uuid) { raw in
            for (index, byte) in raw.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 { bytes.append(UInt8(ascii: "-")) }
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
