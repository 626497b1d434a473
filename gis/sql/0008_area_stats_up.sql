-- Precomputed per-area statistics and a cheap data version for the tile cache (issue 9).
--
-- Items, tiles and area details used to count households, residents, party members and
-- buildings per grid/community/street on every request (a walk of building → household →
-- resident → party_member per row). area_stats holds those counts for the current version of
-- every area, refreshed set-based after loads, imports and boundary commits (area_stats_refresh,
-- called by gis.queries.area_stats.refresh_area_stats in the writer's own transaction, so a
-- committed change never leaves a current area without its row). Open incidents change every
-- minute and stay live, counted through the partial indexes below.
CREATE TABLE area_stats (
    area_id        bigint PRIMARY KEY REFERENCES area (id) ON DELETE CASCADE,
    code           text NOT NULL,
    level          text NOT NULL,
    grids          integer NOT NULL DEFAULT 0,
    buildings      integer NOT NULL DEFAULT 0,
    households     integer NOT NULL DEFAULT 0,
    residents      integer NOT NULL DEFAULT 0,
    party_members  integer NOT NULL DEFAULT 0,
    refreshed_at   timestamptz NOT NULL DEFAULT now()
);
-- Unique: rows of non-current versions are removed by every refresh, and current codes are
-- unique; lets the features' LEFT JOIN on code be dropped when no count is selected.
CREATE UNIQUE INDEX area_stats_code_uq ON area_stats (code text_pattern_ops);

-- Open incidents per grid/community/street, index-only (the status filter is the predicate).
CREATE INDEX incident_open_grid_idx ON incident (grid_id)
    WHERE status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled');
CREATE INDEX incident_open_community_idx ON incident (community_id)
    WHERE status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled');
CREATE INDEX incident_open_street_idx ON incident (street_id)
    WHERE status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled');

-- area_stats_refresh(prefix) is in area_stats_refresh_0008.sql (created first by the
-- migration; migration 0010 replaces it and its downgrade puts this version back).

-- One row, bumped by every statement that writes what tiles draw: the tile cache keys on it
-- instead of scanning `area` per request. Bumped by statement-level triggers (one update per
-- statement, also for a COPY of a million rows); the new value becomes visible with the data.
CREATE TABLE data_version (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    version  bigint NOT NULL DEFAULT 0
);
INSERT INTO data_version (id, version) VALUES (true, 0);

CREATE FUNCTION data_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE data_version SET version = version + 1 WHERE id;
    RETURN NULL;
END $$;

CREATE TRIGGER data_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON area
    FOR EACH STATEMENT EXECUTE FUNCTION data_version_bump();
CREATE TRIGGER data_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON building
    FOR EACH STATEMENT EXECUTE FUNCTION data_version_bump();
CREATE TRIGGER data_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON party_org
    FOR EACH STATEMENT EXECUTE FUNCTION data_version_bump();
CREATE TRIGGER data_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON service_facility
    FOR EACH STATEMENT EXECUTE FUNCTION data_version_bump();
CREATE TRIGGER data_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON area_stats
    FOR EACH STATEMENT EXECUTE FUNCTION data_version_bump();

-- Databases that already hold data get their statistics now.
SELECT area_stats_refresh('');
