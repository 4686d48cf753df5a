/// What a reader hands the importer, in source order.
public enum ImportItem: Sendable {
    /// A user as the source keeps it (an export); readers without one let the importer make the
    /// `users` row from the sessions' owners.
    case user(ImportedUser)
    case session(ImportedSession)
    /// A row of another table of ours (feedback, usage, events, research), after the sessions it
    /// may refer to.
    case row(ImportedRow)
}

/// A reader of one source format: hands over its rows as our records, one at a time, so that
/// memory stays bounded by one session. Bad rows are counted and named in the report and skipped.
public protocol ImportReader: AnyObject {
    /// The rows expected per table of ours, for the progress display (a quick count).
    func totals() throws -> [ImportTable: Int]
    /// The next item, or nil at the end.
    func next(report: inout ImportReport) throws -> ImportItem?
}
