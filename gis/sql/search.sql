-- Search names, codes and addresses of public things. :q the query, :pattern an escaped ILIKE
-- pattern, :code_prefix an escaped LIKE prefix. Each branch filters on the expression its
-- pg_trgm index covers. Ranking: exact code, then code prefix, then similarity, then code.
WITH hits AS (
    SELECT 'area' AS type, a.level AS subtype, a.code, a.name, NULL::text AS address,
           ST_X(ST_PointOnSurface(a.geom)) AS lon, ST_Y(ST_PointOnSurface(a.geom)) AS lat,
           similarity(a.name, :q) AS score
    FROM area a
    WHERE a.valid_to IS NULL AND (a.name ILIKE :pattern OR a.code LIKE :code_prefix)
    UNION ALL
    SELECT 'building', b.use, b.code, b.name, b.address, ST_X(b.anchor), ST_Y(b.anchor),
           similarity(b.name || ' ' || b.address, :q)
    FROM building b
    WHERE b.valid_to IS NULL
      AND ((b.name || ' ' || b.address) ILIKE :pattern OR b.code LIKE :code_prefix)
    UNION ALL
    SELECT 'party_org', po.org_type, po.code, po.name, NULL, ST_X(po.geom), ST_Y(po.geom),
           similarity(po.name, :q)
    FROM party_org po
    WHERE po.level <> 'household' AND (po.name ILIKE :pattern OR po.code LIKE :code_prefix)
    UNION ALL
    SELECT 'service_facility', f.kind, f.code, f.name, f.address, ST_X(f.geom), ST_Y(f.geom),
           similarity(f.name || ' ' || f.address, :q)
    FROM service_facility f
    WHERE (f.name || ' ' || f.address) ILIKE :pattern OR f.code LIKE :code_prefix
)
SELECT type, subtype, code, name, address, lon, lat, score,
       CASE WHEN code = :q THEN 0 WHEN code LIKE :code_prefix THEN 1 ELSE 2 END AS match_rank,
       count(*) OVER () AS total
FROM hits
ORDER BY match_rank, score DESC, code
LIMIT :limit
