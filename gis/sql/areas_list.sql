-- A page of current areas and the total number matching. Optional filters are bound as NULL
-- when absent; :pattern is an ILIKE pattern whose wildcards the caller has escaped.
WITH matched AS (
    SELECT a.code, a.name, a.level, a.kind, p.code AS parent_code,
           ST_XMin(a.geom) AS west, ST_YMin(a.geom) AS south,
           ST_XMax(a.geom) AS east, ST_YMax(a.geom) AS north
    FROM area a LEFT JOIN area p ON p.id = a.parent_id
    WHERE a.valid_to IS NULL
      AND (CAST(:level AS text) IS NULL OR a.level = :level)
      AND (CAST(:prefix AS text) IS NULL OR a.code LIKE :prefix)
      AND (CAST(:pattern AS text) IS NULL OR a.name ILIKE :pattern OR a.code LIKE :code_prefix)
      AND (CAST(:w AS float8) IS NULL
           OR ST_Intersects(a.geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326)))
)
SELECT (SELECT count(*) FROM matched) AS total,
       (SELECT coalesce(json_agg(row_to_json(page) ORDER BY page.code), '[]'::json)
        FROM (SELECT * FROM matched ORDER BY code LIMIT :limit OFFSET :offset) page) AS items
