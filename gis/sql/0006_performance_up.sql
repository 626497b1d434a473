-- Performance at city scale (issue 9): a subdivided lookup table for routing points to grids, and
-- partial GiST indexes that hold only the current version of each layer.

-- Routing a point to its grid probes the GiST index of `area`, which also holds every district,
-- street and community, and every old version: most index hits are then thrown away by the
-- level/valid_to filter after a heap fetch, and each test runs against a MultiPolygon.
-- grid_lookup holds the current grids only, cut by ST_Subdivide into pieces of at most 64
-- vertices (small boxes, cheap point-in-polygon tests), one row per piece.
CREATE TABLE grid_lookup (
    id             bigserial PRIMARY KEY,
    grid_id        bigint NOT NULL REFERENCES area (id) ON DELETE CASCADE,
    code           text NOT NULL,
    district_code  char(6) NOT NULL,
    geom           geometry(Polygon, 4326) NOT NULL
);
CREATE INDEX grid_lookup_geom_gist ON grid_lookup USING gist (geom);
CREATE INDEX grid_lookup_grid_idx ON grid_lookup (grid_id);
CREATE INDEX grid_lookup_code_idx ON grid_lookup (code text_pattern_ops);
-- A few thousand small rows, each driving an index probe of a million points in bulk routing:
-- by size the planner would never share them out to parallel workers.
ALTER TABLE grid_lookup SET (parallel_workers = 2);

-- Rebuild the pieces of the current grids whose code starts with `prefix` ('' = all).
CREATE FUNCTION grid_lookup_refresh(prefix text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    DELETE FROM grid_lookup WHERE code LIKE prefix || '%';
    -- Pieces of grids no longer current whose code changed prefix are removed by the trigger.
    INSERT INTO grid_lookup (grid_id, code, district_code, geom)
    SELECT a.id, a.code, a.district_code, piece
    FROM area a, ST_Subdivide(a.geom, 64) AS piece
    WHERE a.level = 'grid' AND a.valid_to IS NULL AND a.code LIKE prefix || '%';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- Kept in step with every writer of `area` (API, boundary editor, importer, psql): a grid row
-- that is inserted, closed (valid_to set), redrawn or deleted has its pieces replaced here.
CREATE FUNCTION grid_lookup_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.level = 'grid' THEN
        DELETE FROM grid_lookup WHERE grid_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.level = 'grid' AND NEW.valid_to IS NULL THEN
        INSERT INTO grid_lookup (grid_id, code, district_code, geom)
        SELECT NEW.id, NEW.code, NEW.district_code, piece FROM ST_Subdivide(NEW.geom, 64) AS piece;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER grid_lookup_sync AFTER INSERT OR DELETE OR UPDATE OF level, code, geom, valid_to
    ON area FOR EACH ROW EXECUTE FUNCTION grid_lookup_sync();

SELECT grid_lookup_refresh('');

-- Current-version partial GiST indexes: locate, /items?bbox and tiles filter on exactly these
-- predicates, and the index then holds no row the query would discard.
CREATE INDEX area_current_grid_geom_gist ON area USING gist (geom)
    WHERE level = 'grid' AND valid_to IS NULL;
CREATE INDEX building_current_geom_gist ON building USING gist (geom) WHERE valid_to IS NULL;
