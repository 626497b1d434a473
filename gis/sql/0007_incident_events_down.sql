DROP INDEX IF EXISTS incident_assignee_open_idx;
DROP INDEX IF EXISTS incident_event_position_idx;
ALTER TABLE incident_event DROP COLUMN IF EXISTS xid;
