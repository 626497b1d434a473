-- Wake the live stream instead of polling (issue 14, finding 4).
--
-- Each worker process keeps one LISTEN connection; a committed statement that wrote events
-- notifies it with the highest position written, and the worker then reads the new events once
-- for all of its streams. NOTIFY is transactional: nothing is sent for a rolled-back write, and
-- the notification arrives after the commit. The readers still deliver in (xid, id) order below
-- the horizon (migration 0007), so a notification only says when to look, never what to send.
CREATE FUNCTION incident_event_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    newest text;
BEGIN
    SELECT max(xid)::text || '-' || max(id)::text INTO newest FROM new_events;
    IF newest IS NOT NULL THEN
        PERFORM pg_notify('gridgov_incident_event', newest);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER incident_event_notify
    AFTER INSERT ON incident_event
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION incident_event_notify();
