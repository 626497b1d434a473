-- Everything at one WGS84 point (:lon, :lat). The grid is grid_at()'s (migration 0013: the rule
-- intake and routing use too); a point on a boundary shared by several communities or streets
-- outside every grid goes to the lowest code (ORDER BY code LIMIT 1), so the answer is
-- deterministic.
-- Nearest searches take a few candidates by the index's planar KNN (<->, degrees) and rank them
-- by the true geodesic distance, since a degree of longitude is shorter than one of latitude.
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g),
grid AS (
    SELECT a.id, a.code, a.name, a.kind, a.parent_id
    FROM p CROSS JOIN LATERAL grid_at(p.g) AS at JOIN area a ON a.id = at.grid_id
),
community AS (
    SELECT a.id, a.code, a.name, a.kind, a.parent_id FROM area a, p
    WHERE a.valid_to IS NULL AND a.level = 'community'
      AND (a.id = (SELECT parent_id FROM grid)
           OR (NOT EXISTS (SELECT 1 FROM grid) AND ST_Intersects(a.geom, p.g)))
    ORDER BY a.code LIMIT 1
),
street AS (
    SELECT a.id, a.code, a.name, a.kind FROM area a, p
    WHERE a.valid_to IS NULL AND a.level = 'street'
      AND (a.id = (SELECT parent_id FROM community)
           OR (NOT EXISTS (SELECT 1 FROM community) AND ST_Intersects(a.geom, p.g)))
    ORDER BY a.code LIMIT 1
),
bld AS (
    SELECT b.code, b.name, b.address, b.use, b.floors FROM building b, p
    WHERE b.valid_to IS NULL AND ST_Intersects(b.geom, p.g)
    ORDER BY b.code LIMIT 1
),
nearest_grid AS (
    SELECT c.code, c.name, ST_Distance(c.geom::geography, p.g::geography) AS distance_m
    FROM (SELECT a.code, a.name, a.geom FROM area a, p
          WHERE a.valid_to IS NULL AND a.level = 'grid' AND NOT EXISTS (SELECT 1 FROM grid)
          ORDER BY a.geom <-> p.g LIMIT 16) c, p
    ORDER BY distance_m, c.code LIMIT 1
),
centre AS (
    SELECT c.code, c.name, c.address, c.opening_hours, c.phone,
           ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat,
           ST_Distance(c.geom::geography, p.g::geography) AS distance_m
    FROM (SELECT f.* FROM service_facility f, p WHERE f.kind = '党群服务中心'
          ORDER BY f.geom <-> p.g LIMIT 16) c, p
    ORDER BY distance_m, c.code LIMIT 1
)
SELECT
    (SELECT json_build_object('code', code, 'name', name, 'kind', kind) FROM street) AS street,
    (SELECT json_build_object('code', code, 'name', name, 'kind', kind) FROM community)
        AS community,
    (SELECT json_build_object('code', code, 'name', name, 'kind', kind) FROM grid) AS grid,
    (SELECT row_to_json(bld) FROM bld) AS building,
    (SELECT row_to_json(nearest_grid) FROM nearest_grid) AS nearest_grid,
    (SELECT row_to_json(centre) FROM centre) AS service_centre,
    (SELECT coalesce(json_agg(json_build_object(
                'id', pe.id, 'role', s.role, 'name', pe.name, 'phone', pe.phone,
                'title', pe.title)
                ORDER BY s.role, pe.id), '[]'::json)
        FROM grid_staff s JOIN person pe ON pe.id = s.person_id
        WHERE s.area_id = (SELECT id FROM grid)) AS staff,
    (SELECT json_build_object('code', po.code, 'name', po.name, 'org_type', po.org_type,
                              'secretary_id', se.id, 'secretary_name', se.name,
                              'secretary_phone', se.phone)
        FROM party_org po LEFT JOIN person se ON se.id = po.secretary_id
        WHERE po.level = 'grid' AND po.area_id = (SELECT id FROM grid)
        ORDER BY po.code LIMIT 1) AS party_branch
