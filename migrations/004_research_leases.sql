-- Research workers (API.md, "Research workers"): a worker claims the oldest pending request and
-- runs it under a lease it renews; a lease that runs out returns the request to pending (or, after
-- RESEARCH_MAX_ATTEMPTS, fails it), recorded in the history with a reason.
--
-- attempt: how many times the request was claimed. worker_id: who claimed it last.
-- lease_expires_at: while a worker holds it; NULL once it ends (finished, returned, or never
-- claimed). Columns with a constant default or none change only the catalog; the CHECKs are NOT
-- VALID (existing rows pass them: 0, NULL, NULL) and hold for every row written from now on.
ALTER TABLE research_requests
    ADD COLUMN attempt integer NOT NULL DEFAULT 0,
    ADD COLUMN worker_id text,
    ADD COLUMN lease_expires_at timestamptz(3);
ALTER TABLE research_requests
    ADD CONSTRAINT research_requests_attempt_range CHECK (attempt >= 0) NOT VALID,
    ADD CONSTRAINT research_requests_worker_id_length CHECK (char_length(worker_id) BETWEEN 1 AND 128) NOT VALID,
    -- A lease belongs to a worker, and only a running request has one.
    ADD CONSTRAINT research_requests_lease_state
        CHECK (lease_expires_at IS NULL OR (worker_id IS NOT NULL AND status = 'running')) NOT VALID;

-- Claims: the oldest pending request (the workflow types filter on top).
CREATE INDEX research_requests_pending_idx ON research_requests (created_at, id) WHERE status = 'pending';
-- The lease sweeper: running requests whose lease ran out.
CREATE INDEX research_requests_lease_idx ON research_requests (lease_expires_at) WHERE lease_expires_at IS NOT NULL;

-- A request may now enter a status again (running -> pending when its lease runs out -> running).
-- research_status_history_research_at_idx (research_id, at, id) still serves the FK cascade.
ALTER TABLE research_status_history DROP CONSTRAINT research_status_history_research_id_status_key;
ALTER TABLE research_status_history ADD COLUMN reason text;
ALTER TABLE research_status_history
    ADD CONSTRAINT research_status_history_reason_valid CHECK (reason IN ('lease_expired')) NOT VALID;
COMMENT ON COLUMN research_status_history.reason IS
    'Why the store itself made the transition (lease_expired); NULL for a client''s or worker''s own.';
