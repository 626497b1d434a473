-- Statistics of one area's subtree. Bound: :area_id (the current version), :prefix (code LIKE
-- pattern of the subtree, see gis.queries.spatial_params.subtree_prefix), :code.
-- Households, residents, party members, buildings and grids are counted where they live
-- (building → grid), precomputed per area in area_stats (migration 0008); party organisations,
-- facilities and open incidents are live, incidents by the areas recorded on them when they
-- were reported.
WITH own AS (
    SELECT s.* FROM area_stats s WHERE s.area_id = :area_id
),
orgs AS (
    -- Organisations of an area in the subtree or of a current building in it, and the
    -- 党员中心户 (a household role, party_central_household) of such buildings.
    SELECT po.level
    FROM party_org po
    LEFT JOIN area a ON a.id = po.area_id
    LEFT JOIN building b ON b.id = po.building_id AND b.valid_to IS NULL
    LEFT JOIN area bg ON bg.id = b.grid_id
    WHERE (po.area_id IS NOT NULL AND a.code LIKE :prefix)
       OR bg.code LIKE :prefix
    UNION ALL
    SELECT 'household'
    FROM party_central_household c
    JOIN household h ON h.id = c.household_id
    JOIN building hb ON hb.id = h.building_id AND hb.valid_to IS NULL
    JOIN area hg ON hg.id = hb.grid_id
    WHERE hg.code LIKE :prefix
),
open_incidents AS (
    SELECT i.due_at
    FROM incident i
    LEFT JOIN area a ON a.id = coalesce(i.grid_id, i.community_id, i.street_id)
    WHERE i.status = ANY (incident_open_statuses())
      AND (a.code LIKE :prefix OR (a.id IS NULL AND i.district_code = :code))
)
SELECT
    coalesce((SELECT households FROM own), 0) AS households,
    coalesce((SELECT residents FROM own), 0) AS residents,
    coalesce((SELECT party_members FROM own), 0) AS party_members,
    coalesce((SELECT buildings FROM own), 0) AS buildings,
    coalesce((SELECT grids FROM own), 0) AS grids,
    (SELECT coalesce(json_object_agg(level, n), '{}'::json)
        FROM (SELECT level, count(*) AS n FROM orgs GROUP BY level) x) AS party_orgs_by_level,
    (SELECT count(*) FROM service_facility f JOIN area a ON a.id = f.area_id
        WHERE a.code LIKE :prefix) AS service_facilities,
    (SELECT count(*) FROM open_incidents) AS open_incidents,
    (SELECT count(*) FROM open_incidents WHERE due_at < now()) AS overdue_incidents,
    (SELECT area_km2 FROM area WHERE id = :area_id) AS area_km2,
    (SELECT count(*) FROM area_stats g
        WHERE g.level = 'grid' AND g.code LIKE :prefix
          AND g.households BETWEEN :hh_min AND :hh_max) AS grids_within_household_standard
