/// A page of a list and the signed cursor of the next one.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: String?

    /// A page from `limit + 1` fetched items: the extra one only says that more follow.
    init(items fetched: [Item], limit: Int, signer: CursorSigner, cursor: (Item) -> Cursor) {
        let hasMore = fetched.count > limit
        items = Array(fetched.prefix(limit))
        nextCursor = hasMore ? items.last.map { signer.encode(cursor($0)) } : nil
    }
}
