import FoundationEssentials

/// A list's `limit` rules: a default and a maximum.
struct Paging {
    let defaultLimit: Int
    let maximumLimit: Int
}
