/// What a keyset condition compares with on the first page, when there is no previous item.
///
/// Lists write `(at, id) < (coalesce($1, 'infinity'), coalesce($2, maxUUID))` rather than
/// `($1 IS NULL OR (at, id) < ($1, $2))`: the comparison then stays an index condition in a
/// generic plan too (a prepared statement after five runs), instead of a filter that reads every
/// row before the cursor.
enum Keyset {
    /// After every id (descending lists start below it).
    static let maxUUID: StaticString = "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid"
    /// Before every id (ascending lists start above it).
    static let minUUID: StaticString = "'00000000-0000-0000-0000-000000000000'::uuid"
}
