-- A new version of a grid: version = one more than any earlier version of the code.
INSERT INTO area (level, code, name, kind, parent_id, district_code, geom, version,
                  valid_from, updated_at)
SELECT 'grid', :code, :name, :kind, c.id, left(:code, 6),
       ST_SetSRID(ST_GeomFromGeoJSON(:geom), 4326),
       coalesce((SELECT max(version) FROM area WHERE code = :code), 0) + 1, :at, :at
FROM area c
WHERE c.code = :community AND c.level = 'community' AND c.valid_to IS NULL
RETURNING id, version
