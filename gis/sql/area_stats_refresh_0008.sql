-- area_stats_refresh as migration 0008 created it (0010 replaces it; its downgrade restores this).
-- Recompute the statistics of the current areas whose subtree meets `prefix` ('' = all): the
-- grids under it from the base tables, then every district/street/community above or below it
-- by summing its grids' rows. A street's subtree is the first nine digits of its code.
CREATE OR REPLACE FUNCTION area_stats_refresh(prefix text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    -- Rows of areas that are no longer current (or whose code moved) under the prefix.
    DELETE FROM area_stats s
     WHERE s.code LIKE prefix || '%'
        OR NOT EXISTS (SELECT 1 FROM area a WHERE a.id = s.area_id AND a.valid_to IS NULL);

    -- One aggregate per table over the grids' current buildings (hash joins for the city,
    -- index probes for one community); EXECUTE plans it for this prefix every time, where a
    -- cached generic plan would not know how selective the LIKE is.
    EXECUTE $sql$
    INSERT INTO area_stats (area_id, code, level, grids, buildings, households, residents,
                            party_members)
    WITH b AS MATERIALIZED (
        SELECT b.id, b.grid_id FROM building b JOIN area g ON g.id = b.grid_id
         WHERE b.valid_to IS NULL AND g.level = 'grid' AND g.valid_to IS NULL
           AND g.code LIKE $1
    ), per_grid_buildings AS (
        SELECT grid_id, count(*) AS n FROM b GROUP BY grid_id
    ), per_grid_households AS (
        SELECT b.grid_id, count(*) AS n FROM household h JOIN b ON b.id = h.building_id
         GROUP BY b.grid_id
    ), per_grid_residents AS (
        SELECT b.grid_id, count(*) AS n FROM resident r
          JOIN household h ON h.id = r.household_id JOIN b ON b.id = h.building_id
         GROUP BY b.grid_id
    ), per_grid_members AS (
        SELECT b.grid_id, count(*) AS n FROM party_member m
          JOIN resident r ON r.id = m.resident_id JOIN household h ON h.id = r.household_id
          JOIN b ON b.id = h.building_id
         GROUP BY b.grid_id
    )
    SELECT g.id, g.code, 'grid', 1, coalesce(pb.n, 0), coalesce(ph.n, 0), coalesce(pr.n, 0),
           coalesce(pm.n, 0)
      FROM area g
      LEFT JOIN per_grid_buildings pb ON pb.grid_id = g.id
      LEFT JOIN per_grid_households ph ON ph.grid_id = g.id
      LEFT JOIN per_grid_residents pr ON pr.grid_id = g.id
      LEFT JOIN per_grid_members pm ON pm.grid_id = g.id
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
