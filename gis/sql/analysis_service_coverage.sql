-- The 15-minute circle: buildings whose anchor is farther than :radius_m (geodesic) from every
-- 党群服务中心, per grid of the subtree :prefix. The && prefilter uses the GiST index; its box
-- (radius / 55 km per degree) is wider than the radius everywhere below latitude 60°.
WITH grids AS (
    SELECT g.id, g.code, g.name FROM area g
    WHERE g.valid_to IS NULL AND g.level = 'grid' AND g.code LIKE :prefix
),
bld AS (
    SELECT b.id, b.code, b.name, b.address, b.anchor, g.code AS grid_code,
           (SELECT count(*) FROM household h WHERE h.building_id = b.id) AS households,
           NOT EXISTS (
               SELECT 1 FROM service_facility f
               WHERE f.kind = '党群服务中心'
                 AND f.geom && ST_Expand(b.anchor, :radius_m / 55000.0)
                 AND ST_DWithin(f.geom::geography, b.anchor::geography, :radius_m)
           ) AS uncovered
    FROM building b JOIN grids g ON g.id = b.grid_id
    WHERE b.valid_to IS NULL
),
per_grid AS (
    SELECT g.code, g.name,
           count(b.id) AS buildings,
           count(b.id) FILTER (WHERE b.uncovered) AS buildings_uncovered,
           coalesce(sum(b.households), 0) AS households,
           coalesce(sum(b.households) FILTER (WHERE b.uncovered), 0) AS households_uncovered
    FROM grids g LEFT JOIN bld b ON b.grid_code = g.code
    GROUP BY g.code, g.name
)
SELECT
    (SELECT coalesce(json_agg(row_to_json(per_grid) ORDER BY code), '[]'::json) FROM per_grid)
        AS grids,
    (SELECT coalesce(json_agg(json_build_object(
                'type', 'Feature', 'id', code,
                'geometry', ST_AsGeoJSON(anchor, 7)::json,
                'properties', json_build_object('code', code, 'name', name, 'address', address,
                                                'grid_code', grid_code,
                                                'households', households))
                ORDER BY code), '[]'::json)
        FROM bld WHERE uncovered) AS features
