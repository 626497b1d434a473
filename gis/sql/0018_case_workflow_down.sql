-- Back to the workflow of 0012. Cases in a status that no longer exists are moved to the nearest
-- old one first (accepted → reported, verified → handled, suspended → where it was).
UPDATE incident SET status = suspended_from WHERE status = 'suspended';
UPDATE incident SET status = 'reported' WHERE status = 'accepted';
UPDATE incident SET status = 'handled' WHERE status = 'verified';

DROP TABLE incident_extension;
ALTER TABLE incident_deadline_rule DROP COLUMN verified_by;
ALTER TABLE incident_transition DROP COLUMN action;
ALTER TABLE incident
    DROP CONSTRAINT incident_suspension,
    DROP COLUMN suspended_from,
    DROP COLUMN suspended_at;
DROP FUNCTION incident_extension_decisions();
DROP FUNCTION incident_verifiers();

CREATE OR REPLACE FUNCTION incident_statuses() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY['reported', 'registered', 'rejected', 'dispatched', 'in_progress', 'handled',
                 'closed', 'evaluated']::text[]
$$;
CREATE OR REPLACE FUNCTION incident_open_statuses() RETURNS text[] LANGUAGE sql IMMUTABLE
PARALLEL SAFE AS $$
    SELECT ARRAY['reported', 'registered', 'dispatched', 'in_progress', 'handled']::text[]
$$;
CREATE OR REPLACE FUNCTION incident_late_statuses() RETURNS text[] LANGUAGE sql IMMUTABLE
PARALLEL SAFE AS $$
    SELECT ARRAY['reported', 'registered', 'dispatched', 'in_progress']::text[]
$$;

ALTER TABLE incident
    DROP CONSTRAINT incident_status_check,
    ADD CONSTRAINT incident_status_check CHECK (status = ANY (incident_statuses()));

DROP INDEX incident_open_geom_gist;
CREATE INDEX incident_open_geom_gist ON incident USING gist (geom)
    WHERE status = ANY (incident_open_statuses());
DROP INDEX incident_open_due_idx;
CREATE INDEX incident_open_due_idx ON incident (due_at)
    WHERE status = ANY (incident_late_statuses());
DROP INDEX incident_open_grid_idx;
CREATE INDEX incident_open_grid_idx ON incident (grid_id)
    WHERE status = ANY (incident_open_statuses());
DROP INDEX incident_open_community_idx;
CREATE INDEX incident_open_community_idx ON incident (community_id)
    WHERE status = ANY (incident_open_statuses());
DROP INDEX incident_open_street_idx;
CREATE INDEX incident_open_street_idx ON incident (street_id)
    WHERE status = ANY (incident_open_statuses());
