-- Audit entries get UUID ids, like every other id the API shows (the contract: "Ids are UUID
-- strings"). Existing entries keep their order: their old number becomes the last 12 hex digits
-- of a UUID, and new entries get a UUIDv7 from the application (gen_random_uuid() is only a
-- fallback for rows written by hand). The keyset index (at DESC, id DESC) is rebuilt by the
-- type change.
ALTER TABLE audit_log ALTER COLUMN id DROP IDENTITY;
ALTER TABLE audit_log
    ALTER COLUMN id TYPE uuid USING ('00000000-0000-0000-0000-' || lpad(to_hex(id), 12, '0'))::uuid,
    ALTER COLUMN id SET DEFAULT gen_random_uuid();
