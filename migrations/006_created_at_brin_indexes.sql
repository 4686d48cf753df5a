-- The admin dashboard's activity figures (GET /db/admin/stats/activity) count sessions, messages
-- and research requests by created_at over a window, at every refresh. BRIN indexes: a few pages
-- per table and next to nothing per insert, and they let a window skip the rest of the table
-- because rows arrive in created_at order. (An import of old history adds block ranges that
-- overlap; those ranges are read, the rest still skipped.) A BRIN build reads the table once,
-- holding off writes to it meanwhile: seconds per ten million messages.
CREATE INDEX sessions_created_brin_idx ON sessions USING brin (created_at);
CREATE INDEX messages_created_brin_idx ON messages USING brin (created_at);
CREATE INDEX research_requests_created_brin_idx ON research_requests USING brin (created_at);
