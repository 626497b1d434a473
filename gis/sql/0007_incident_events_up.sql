-- The live stream without a writers' lock (issue 9, case 6).
--
-- Each event records the top-level transaction that wrote it. A reader delivers events in
-- (xid, id) order and only those whose transaction is older than the oldest transaction still
-- running (pg_snapshot_xmin of its snapshot): every such transaction has finished, and every
-- transaction that could still commit an event has an xid at or above that horizon, so it sorts
-- after everything already delivered. Resuming from (xid, id) therefore never skips or repeats.
--
-- xid8 (64-bit, never wraps) stored as bigint: it stays below 2^63 for the life of the cluster.
-- Events written before this migration get xid 0: all committed, they sort first by id, which
-- the former advisory lock kept in commit order.
ALTER TABLE incident_event ADD COLUMN xid bigint NOT NULL DEFAULT 0;
ALTER TABLE incident_event ALTER COLUMN xid SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX incident_event_position_idx ON incident_event (xid, id);

-- Intake picks the grid's worker with the fewest cases in hand; counting them through the plain
-- assignee index visits every case the worker ever had (hundreds after a year). Only the cases in
-- hand are indexed here, so the count reads a handful of entries.
CREATE INDEX incident_assignee_open_idx ON incident (assignee_id)
    WHERE status IN ('registered', 'dispatched', 'in_progress');
