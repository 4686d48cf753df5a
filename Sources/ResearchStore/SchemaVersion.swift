/// The database schema version this build needs: `schema.sql` is version 1 and each
/// `migrations/NNN_*.sql` is version NNN. A test keeps this in step with the files.
public enum SchemaVersion {
    public static let expected = 6
}
