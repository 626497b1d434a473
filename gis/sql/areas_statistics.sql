-- Statistics of one area's subtree. Bound: :area_id (the current version), :prefix (code LIKE
-- pattern of the subtree, see gis.queries.spatial_params.subtree_prefix), :code.
-- Households, residents and party members are counted where they live (building → grid);
-- incidents by the areas recorded on them when they were reported.
WITH grids AS (
    SELECT g.id, g.code
    FROM area g
    WHERE g.valid_to IS NULL AND g.level = 'grid' AND g.code LIKE :prefix
),
buildings AS (
    SELECT b.id
    FROM building b JOIN area g ON g.id = b.grid_id
    WHERE b.valid_to IS NULL AND g.code LIKE :prefix
),
households AS (
    SELECT h.id, h.building_id FROM household h JOIN buildings b ON b.id = h.building_id
),
grid_households AS (
    SELECT g.code, count(h.id) AS n
    FROM grids g
    LEFT JOIN building b ON b.grid_id = g.id AND b.valid_to IS NULL
    LEFT JOIN household h ON h.building_id = b.id
    GROUP BY g.code
),
orgs AS (
    SELECT po.level
    FROM party_org po
    LEFT JOIN area a ON a.id = po.area_id
    WHERE (po.area_id IS NOT NULL AND a.code LIKE :prefix)
       OR po.building_id IN (SELECT id FROM buildings)
       OR po.household_id IN (SELECT id FROM households)
),
open_incidents AS (
    SELECT i.due_at
    FROM incident i
    LEFT JOIN area a ON a.id = coalesce(i.grid_id, i.community_id, i.street_id)
    WHERE i.status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled')
      AND (a.code LIKE :prefix OR (a.id IS NULL AND i.district_code = :code))
)
SELECT
    (SELECT count(*) FROM households) AS households,
    (SELECT count(*) FROM resident r JOIN households h ON h.id = r.household_id) AS residents,
    (SELECT count(*) FROM party_member m
        JOIN resident r ON r.id = m.resident_id
        JOIN households h ON h.id = r.household_id) AS party_members,
    (SELECT count(*) FROM buildings) AS buildings,
    (SELECT count(*) FROM grids) AS grids,
    (SELECT coalesce(json_object_agg(level, n), '{}'::json)
        FROM (SELECT level, count(*) AS n FROM orgs GROUP BY level) x) AS party_orgs_by_level,
    (SELECT count(*) FROM service_facility f JOIN area a ON a.id = f.area_id
        WHERE a.code LIKE :prefix) AS service_facilities,
    (SELECT count(*) FROM open_incidents) AS open_incidents,
    (SELECT count(*) FROM open_incidents WHERE due_at < now()) AS overdue_incidents,
    (SELECT ST_Area(geom::geography) / 1e6 FROM area WHERE id = :area_id) AS area_km2,
    (SELECT count(*) FROM grid_households WHERE n BETWEEN :hh_min AND :hh_max)
        AS grids_within_household_standard
