-- 党建空白点 in the subtree :prefix: grids without a party branch, inhabited buildings with
-- neither a party group nor a resident party member, and communities ranked by party members
-- (counted where they live) per 100 households, lowest first.
WITH grids AS (
    SELECT g.id, g.code, g.name, g.parent_id FROM area g
    WHERE g.valid_to IS NULL AND g.level = 'grid' AND g.code LIKE :prefix
),
bld AS (
    SELECT b.id, b.code, b.name, b.address, b.anchor, g.code AS grid_code,
           (SELECT count(*) FROM household h WHERE h.building_id = b.id) AS households,
           (SELECT count(*) FROM party_member m
               JOIN resident r ON r.id = m.resident_id
               JOIN household h ON h.id = r.household_id
            WHERE h.building_id = b.id) AS party_members,
           EXISTS (SELECT 1 FROM party_org po
                   WHERE po.level = 'building' AND po.building_id = b.id) AS has_group
    FROM building b JOIN grids g ON g.id = b.grid_id
    WHERE b.valid_to IS NULL
),
communities AS (
    SELECT c.code, c.name,
           coalesce(sum(b.households), 0) AS households,
           coalesce(sum(b.party_members), 0) AS party_members
    FROM area c
    LEFT JOIN grids g ON g.parent_id = c.id
    LEFT JOIN bld b ON b.grid_code = g.code
    WHERE c.valid_to IS NULL AND c.level = 'community' AND c.code LIKE :prefix
    GROUP BY c.code, c.name
)
SELECT
    (SELECT coalesce(json_agg(json_build_object('code', g.code, 'name', g.name)
                              ORDER BY g.code), '[]'::json)
        FROM grids g
        WHERE NOT EXISTS (SELECT 1 FROM party_org po
                          WHERE po.level = 'grid' AND po.area_id = g.id)) AS grids_without_branch,
    (SELECT coalesce(json_agg(json_build_object(
                'type', 'Feature', 'id', code,
                'geometry', ST_AsGeoJSON(anchor, 7)::json,
                'properties', json_build_object('code', code, 'name', name, 'address', address,
                                                'grid_code', grid_code,
                                                'households', households))
                ORDER BY code), '[]'::json)
        FROM bld WHERE households > 0 AND NOT has_group AND party_members = 0)
        AS uncovered_buildings,
    (SELECT coalesce(json_agg(json_build_object(
                'code', code, 'name', name, 'households', households,
                'party_members', party_members,
                'party_members_per_100_households',
                CASE WHEN households > 0
                     THEN round(100.0 * party_members / households, 2) END)
                ORDER BY CASE WHEN households > 0 THEN 1.0 * party_members / households END
                         NULLS FIRST, code), '[]'::json)
        FROM communities) AS communities
