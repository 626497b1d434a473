-- Precomputed per-building counts (issue 9): the buildings collection's items and tiles used to
-- count households, residents and party members per building on every request (three
-- correlated subqueries per row, the cost of a cold building tile). building_stats holds them
-- for the current version of every building in a current grid; area_stats_refresh (replaced
-- below) refreshes it first and sums it per grid, in the writer's transaction.
-- Buildings without a row (old versions) are still counted live by the collection's SQL.
CREATE TABLE building_stats (
    building_id    bigint PRIMARY KEY REFERENCES building (id) ON DELETE CASCADE,
    households     integer NOT NULL DEFAULT 0,
    residents      integer NOT NULL DEFAULT 0,
    party_members  integer NOT NULL DEFAULT 0
);

-- Recompute the rows of the current buildings in current grids whose code starts with
-- `prefix` ('' = all), and drop the rows of retired building versions there.
CREATE FUNCTION building_stats_refresh(prefix text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    IF prefix = '' THEN
        -- A full refresh follows a bulk load, whose fresh COPYs have no planner statistics:
        -- nested loops over tables taken for one row each took minutes on the demo city.
        ANALYZE area, building, household, resident, party_member;
    END IF;

    -- Rows of retired building versions under the prefix (writers refresh the scope they
    -- changed; a deleted building takes its row along, ON DELETE CASCADE). Scoped, so that a
    -- community's refresh costs that community, not the city. A current building's counts do
    -- not depend on its grid, so its row stays right wherever the building moved.
    DELETE FROM building_stats s
     USING building b JOIN area g ON g.id = b.grid_id
     WHERE b.id = s.building_id AND b.valid_to IS NOT NULL AND g.code LIKE prefix || '%';

    -- As in area_stats_refresh: one aggregate per table, planned for this prefix (EXECUTE).
    EXECUTE $sql$
    INSERT INTO building_stats (building_id, households, residents, party_members)
    WITH b AS MATERIALIZED (
        SELECT b.id FROM building b JOIN area g ON g.id = b.grid_id
         WHERE b.valid_to IS NULL AND g.valid_to IS NULL AND g.code LIKE $1
    ), per_households AS (
        SELECT h.building_id, count(*) AS n FROM household h JOIN b ON b.id = h.building_id
         GROUP BY h.building_id
    ), per_residents AS (
        SELECT h.building_id, count(*) AS n FROM resident r
          JOIN household h ON h.id = r.household_id JOIN b ON b.id = h.building_id
         GROUP BY h.building_id
    ), per_members AS (
        SELECT h.building_id, count(*) AS n FROM party_member m
          JOIN resident r ON r.id = m.resident_id JOIN household h ON h.id = r.household_id
          JOIN b ON b.id = h.building_id
         GROUP BY h.building_id
    )
    SELECT b.id, coalesce(ph.n, 0), coalesce(pr.n, 0), coalesce(pm.n, 0)
      FROM b
      LEFT JOIN per_households ph ON ph.building_id = b.id
      LEFT JOIN per_residents pr ON pr.building_id = b.id
      LEFT JOIN per_members pm ON pm.building_id = b.id
     ORDER BY b.id
    ON CONFLICT (building_id) DO UPDATE
       SET households = EXCLUDED.households, residents = EXCLUDED.residents,
           party_members = EXCLUDED.party_members
    $sql$ USING prefix || '%';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- area_stats_refresh, replacing migration 0008's: it refreshes the buildings first and sums
-- their rows per grid, instead of walking household → resident → party_member a second time.
-- (0008's version stays in area_stats_refresh_0008.sql for the downgrade.)
CREATE OR REPLACE FUNCTION area_stats_refresh(prefix text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    PERFORM building_stats_refresh(prefix);

    -- Rows of areas that are no longer current (or whose code moved) under the prefix.
    DELETE FROM area_stats s
     WHERE s.code LIKE prefix || '%'
        OR NOT EXISTS (SELECT 1 FROM area a WHERE a.id = s.area_id AND a.valid_to IS NULL);

    EXECUTE $sql$
    INSERT INTO area_stats (area_id, code, level, grids, buildings, households, residents,
                            party_members)
    WITH per_grid AS (
        SELECT b.grid_id, count(*) AS buildings, sum(s.households) AS households,
               sum(s.residents) AS residents, sum(s.party_members) AS party_members
          FROM building b JOIN area g ON g.id = b.grid_id
          JOIN building_stats s ON s.building_id = b.id
         WHERE b.valid_to IS NULL AND g.level = 'grid' AND g.valid_to IS NULL
           AND g.code LIKE $1
         GROUP BY b.grid_id
    )
    SELECT g.id, g.code, 'grid', 1, coalesce(p.buildings, 0), coalesce(p.households, 0),
           coalesce(p.residents, 0), coalesce(p.party_members, 0)
      FROM area g
      LEFT JOIN per_grid p ON p.grid_id = g.id
     WHERE g.level = 'grid' AND g.valid_to IS NULL AND g.code LIKE $1
     ORDER BY g.id
    ON CONFLICT (area_id) DO UPDATE
       SET code = EXCLUDED.code, grids = 1, buildings = EXCLUDED.buildings,
           households = EXCLUDED.households, residents = EXCLUDED.residents,
           party_members = EXCLUDED.party_members, refreshed_at = now()
    $sql$ USING prefix || '%';
    GET DIAGNOSTICS n = ROW_COUNT;

    -- Upper levels meeting the prefix: below it (code extends it) or above it (it extends
    -- their subtree prefix).
    INSERT INTO area_stats (area_id, code, level, grids, buildings, households, residents,
                            party_members)
    SELECT u.id, u.code, u.level, count(s.area_id), coalesce(sum(s.buildings), 0),
           coalesce(sum(s.households), 0), coalesce(sum(s.residents), 0),
           coalesce(sum(s.party_members), 0)
      FROM area u
      LEFT JOIN area_stats s
        ON s.level = 'grid'
       AND s.code LIKE (CASE WHEN u.level = 'street' THEN left(u.code, 9) ELSE u.code END) || '%'
     WHERE u.level <> 'grid' AND u.valid_to IS NULL
       AND (u.code LIKE prefix || '%'
            OR prefix LIKE (CASE WHEN u.level = 'street' THEN left(u.code, 9) ELSE u.code END)
                           || '%')
     GROUP BY u.id, u.code, u.level
     -- Rows locked in id order: two commits in different communities of one street update the
     -- street's and district's rows in the same order, so they queue instead of deadlocking.
     ORDER BY u.id
    ON CONFLICT (area_id) DO UPDATE
       SET code = EXCLUDED.code, grids = EXCLUDED.grids, buildings = EXCLUDED.buildings,
           households = EXCLUDED.households, residents = EXCLUDED.residents,
           party_members = EXCLUDED.party_members, refreshed_at = now();
    RETURN n;
END $$;

-- Tiles draw these counts: a change must move the tile cache's key like the other tables.
CREATE TRIGGER data_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON building_stats
    FOR EACH STATEMENT EXECUTE FUNCTION data_version_bump();

SELECT building_stats_refresh('');
