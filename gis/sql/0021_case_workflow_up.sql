-- The case workflow of gis/incidents/workflow.py (docs/command-centre.md): new statuses
-- accepted (受理), verified (核查通过) and suspended (挂起). The vocabulary functions of 0012 are the
-- database's copy of gis/incidents/vocabulary.py; they are replaced here, and the constraint and
-- partial indexes built on them are rebuilt (a partial index's predicate was folded to the
-- constant list when it was built).

CREATE OR REPLACE FUNCTION incident_statuses() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY['reported', 'accepted', 'registered', 'rejected', 'dispatched', 'in_progress',
                 'handled', 'verified', 'suspended', 'closed', 'evaluated']::text[]
$$;
CREATE OR REPLACE FUNCTION incident_open_statuses() RETURNS text[] LANGUAGE sql IMMUTABLE
PARALLEL SAFE AS $$
    SELECT ARRAY['reported', 'accepted', 'registered', 'dispatched', 'in_progress', 'handled',
                 'verified', 'suspended']::text[]
$$;
-- A deadline is running: handled and verified cases wait for verification and closing, and a
-- suspended case's clock is paused.
CREATE OR REPLACE FUNCTION incident_late_statuses() RETURNS text[] LANGUAGE sql IMMUTABLE
PARALLEL SAFE AS $$
    SELECT ARRAY['reported', 'accepted', 'registered', 'dispatched', 'in_progress']::text[]
$$;
CREATE FUNCTION incident_verifiers() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['community', 'centre']::text[]
$$;
CREATE FUNCTION incident_extension_decisions() RETURNS text[] LANGUAGE sql IMMUTABLE
PARALLEL SAFE AS $$
    SELECT ARRAY['approved', 'refused']::text[]
$$;

-- 挂起: the status the case was in (恢复 returns to it) and since when (resuming moves the
-- deadline by the paused time). Both set exactly while the case is suspended.
ALTER TABLE incident
    DROP CONSTRAINT incident_status_check,
    ADD CONSTRAINT incident_status_check CHECK (status = ANY (incident_statuses())),
    ADD COLUMN suspended_from text,
    ADD COLUMN suspended_at timestamptz,
    ADD CONSTRAINT incident_suspension CHECK (
        (status = 'suspended') = (suspended_from IS NOT NULL)
        AND (suspended_from IS NULL) = (suspended_at IS NULL)
        AND (suspended_from IS NULL OR suspended_from = ANY (incident_late_statuses())));

-- Which step of the workflow a history row records (gis/incidents/workflow.py's action names):
-- steps that keep the status (改派, 延期申请, its decision) are told apart. NULL for rows written
-- before this migration (their from/to pair names the step).
ALTER TABLE incident_transition ADD COLUMN action text;

-- Who verifies a handled case of this category (核查): the case's community or the command
-- centre. The person or grid that handled it never does (gis/incidents/duties.py).
ALTER TABLE incident_deadline_rule
    ADD COLUMN verified_by text NOT NULL DEFAULT 'centre'
        CONSTRAINT incident_deadline_rule_verified_by CHECK (verified_by = ANY (incident_verifiers()));

-- 延期申请: one pending request per case (the partial unique index), decided once by a
-- supervisor who did not ask for it; approval moves the case's deadline to requested_due_at.
CREATE TABLE incident_extension (
    id                bigserial PRIMARY KEY,
    incident_id       bigint NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
    requested_at      timestamptz NOT NULL DEFAULT now(),
    requested_by      text NOT NULL,
    reason            text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    previous_due_at   timestamptz,
    requested_due_at  timestamptz NOT NULL,
    decision          text CHECK (decision = ANY (incident_extension_decisions())),
    decided_at        timestamptz,
    decided_by        text,
    decision_note     text CHECK (decision_note IS NULL OR length(decision_note) <= 2000),
    CONSTRAINT incident_extension_decided CHECK (
        (decision IS NULL) = (decided_at IS NULL) AND (decision IS NULL) = (decided_by IS NULL))
);
CREATE UNIQUE INDEX incident_extension_pending_uq ON incident_extension (incident_id)
    WHERE decision IS NULL;
CREATE INDEX incident_extension_incident_idx ON incident_extension (incident_id, requested_at);
