-- The incident vocabulary in the database: one IMMUTABLE function per set. They are the database's
-- copy of gis/incidents/vocabulary.py (the owner; tests/gis/incidents/test_vocabulary.py checks
-- that both agree). SQL files, CHECK constraints and partial indexes call these functions instead
-- of spelling the lists out. An IMMUTABLE SQL function of one SELECT is inlined and folded into a
-- constant when a statement is planned, so a query's `status = ANY(incident_open_statuses())`
-- still matches an index built WHERE `status = ANY(incident_open_statuses())`.
-- Changing the vocabulary means a migration that replaces these functions and rebuilds the
-- constraints and indexes below (their stored definitions were folded when they were built).

CREATE FUNCTION incident_statuses() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['reported', 'registered', 'rejected', 'dispatched', 'in_progress', 'handled',
                 'closed', 'evaluated']::text[]
$$;
-- Open: the case still needs someone (it follows its location when boundaries are redrawn).
CREATE FUNCTION incident_open_statuses() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['reported', 'registered', 'dispatched', 'in_progress', 'handled']::text[]
$$;
CREATE FUNCTION incident_closed_statuses() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['closed', 'evaluated']::text[]
$$;
-- A deadline is running: these can be late (handled cases wait for verification, not for work).
CREATE FUNCTION incident_late_statuses() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['reported', 'registered', 'dispatched', 'in_progress']::text[]
$$;
-- In someone's hands: a worker's load when cases are shared out.
CREATE FUNCTION incident_workload_statuses() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY['registered', 'dispatched', 'in_progress']::text[]
$$;
CREATE FUNCTION incident_sources() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['grid_worker', 'hotline', 'public', 'open311', 'patrol', 'import']::text[]
$$;
CREATE FUNCTION incident_reject_resolutions() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY['duplicate', 'not_responsible', 'invalid']::text[]
$$;
-- The kind (event 事件 or component 部件) of a category; NULL for a category that is not one.
CREATE FUNCTION incident_kind_of(category text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN category = ANY (ARRAY['市容环境', '宣传广告', '施工管理', '街面秩序', '突发事件',
                                   '其他']::text[]) THEN 'event'
        WHEN category = ANY (ARRAY['公用设施', '交通设施', '市容环境设施', '园林绿化设施',
                                   '其他设施']::text[]) THEN 'component'
    END
$$;

-- One ALTER: the table is scanned once to validate the new constraints.
ALTER TABLE incident
    DROP CONSTRAINT incident_status_check,
    DROP CONSTRAINT incident_source_check,
    DROP CONSTRAINT incident_kind_check,
    DROP CONSTRAINT incident_category_fits_kind,
    DROP CONSTRAINT incident_closed_at,
    DROP CONSTRAINT incident_resolution_check,
    ADD CONSTRAINT incident_status_check CHECK (status = ANY (incident_statuses())),
    ADD CONSTRAINT incident_source_check CHECK (source = ANY (incident_sources())),
    ADD CONSTRAINT incident_category_fits_kind
        CHECK (incident_kind_of(category) IS NOT DISTINCT FROM kind),
    ADD CONSTRAINT incident_closed_at
        CHECK ((closed_at IS NOT NULL) = (status = ANY (incident_closed_statuses()))),
    ADD CONSTRAINT incident_resolution_check
        CHECK (resolution = ANY (incident_reject_resolutions()));

DROP INDEX incident_open_geom_gist;
CREATE INDEX incident_open_geom_gist ON incident USING gist (geom)
    WHERE status = ANY (incident_open_statuses());
DROP INDEX incident_open_due_idx;
CREATE INDEX incident_open_due_idx ON incident (due_at)
    WHERE status = ANY (incident_late_statuses());
DROP INDEX incident_assignee_open_idx;
CREATE INDEX incident_assignee_open_idx ON incident (assignee_id)
    WHERE status = ANY (incident_workload_statuses());
DROP INDEX incident_open_grid_idx;
CREATE INDEX incident_open_grid_idx ON incident (grid_id)
    WHERE status = ANY (incident_open_statuses());
DROP INDEX incident_open_community_idx;
CREATE INDEX incident_open_community_idx ON incident (community_id)
    WHERE status = ANY (incident_open_statuses());
DROP INDEX incident_open_street_idx;
CREATE INDEX incident_open_street_idx ON incident (street_id)
    WHERE status = ANY (incident_open_statuses());
