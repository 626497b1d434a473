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
