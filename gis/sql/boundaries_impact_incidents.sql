-- Open incidents of the changed grids and the draft grid their location falls in.
WITH draft AS (
    SELECT d->>'code' AS code, ST_SetSRID(ST_GeomFromGeoJSON(d->>'geometry'), 4326) AS geom
    FROM jsonb_array_elements(CAST(:draft AS jsonb)) AS d
)
SELECT i.code, i.category, i.status, g.code AS old_code,
       round(ST_X(i.geom)::numeric, 7) AS lon, round(ST_Y(i.geom)::numeric, 7) AS lat,
       (SELECT d.code FROM draft d WHERE d.geom && i.geom AND ST_Covers(d.geom, i.geom)
        ORDER BY d.code LIMIT 1) AS new_code
FROM incident i JOIN area g ON g.id = i.grid_id
WHERE i.grid_id = ANY(:old_ids) AND i.status = ANY(:open)
ORDER BY i.code
