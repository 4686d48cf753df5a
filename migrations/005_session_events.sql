-- The live session stream (API.md, "Live session stream"): every write a stream shows is
-- announced on the channel research_store_events, from inside the writing transaction, so it is
-- delivered when (and only if) that transaction commits, to every process that LISTENs. Payloads
-- carry ids only (NOTIFY payloads are small); a stream reads the rows itself.
--   m <session_id> <highest seq>   messages were stored (one per session and statement)
--   s <session_id>                 the session's title, status or metadata changed
--   d <session_id>                 the session was deleted
--   r <session_id> <research_id>   a research request was created or changed status
CREATE FUNCTION research_store_notify_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('research_store_events', 'm ' || session_id || ' ' || max(seq))
    FROM new_messages GROUP BY session_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_notify_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_messages FOR EACH STATEMENT EXECUTE FUNCTION research_store_notify_messages();

CREATE FUNCTION research_store_notify_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('research_store_events', 'd ' || OLD.id);
    ELSE
        PERFORM pg_notify('research_store_events', 's ' || NEW.id);
    END IF;
    RETURN NULL;
END
$$;
-- Message stores update the counters on every write: only a change a client made is an event.
CREATE TRIGGER sessions_notify_update AFTER UPDATE ON sessions
    FOR EACH ROW WHEN ((OLD.title, OLD.status, OLD.metadata) IS DISTINCT FROM (NEW.title, NEW.status, NEW.metadata))
    EXECUTE FUNCTION research_store_notify_session();
CREATE TRIGGER sessions_notify_delete AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION research_store_notify_session();

CREATE FUNCTION research_store_notify_research() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('research_store_events', 'r ' || NEW.session_id || ' ' || NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER research_requests_notify_insert AFTER INSERT ON research_requests
    FOR EACH ROW EXECUTE FUNCTION research_store_notify_research();
CREATE TRIGGER research_requests_notify_status AFTER UPDATE ON research_requests
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION research_store_notify_research();
