import FoundationEssentials

/// A cached result: a JSON object, shared by the whole deployment, until `expiresAt`.
public struct CacheEntry: Sendable, Equatable {
    public var key: String
    public var value: JSONValue
    public var expiresAt: Date

    /// 1–256 characters of `[A-Za-z0-9._:/-]`.
    public static func isValidKey(_ key: String) -> Bool {
        CharacterClass.matches(key, length: 1...256, CharacterClass.cacheKey)
    }
}
