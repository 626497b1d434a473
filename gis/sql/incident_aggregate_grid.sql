-- Case counts per grid (by code, at the point on surface of its current version) and optional
-- time bucket; cases outside every grid form one row with no grid.
WITH hits AS (
    SELECT g.code,
           CASE WHEN CAST(:bucket AS text) IS NULL THEN NULL
                ELSE date_trunc(:bucket, i.reported_at, 'Asia/Shanghai') END AS bucket,
           i.status, (i.status = ANY(:late) AND i.due_at < :now) AS late
    FROM incident i
    LEFT JOIN area s ON s.id = i.street_id
    LEFT JOIN area c ON c.id = i.community_id
    LEFT JOIN area g ON g.id = i.grid_id
    /*WHERE*/
),
agg AS (
    SELECT code, bucket, count(*) AS n,
           count(*) FILTER (WHERE status = ANY (incident_open_statuses())) AS open,
           count(*) FILTER (WHERE late) AS overdue
    FROM hits GROUP BY code, bucket
)
SELECT agg.code, agg.bucket, agg.n, agg.open, agg.overdue, cur.name,
       ST_AsGeoJSON(ST_PointOnSurface(cur.geom), 6) AS geometry
FROM agg
LEFT JOIN area cur ON cur.level = 'grid' AND cur.valid_to IS NULL AND cur.code = agg.code
ORDER BY agg.code NULLS LAST, agg.bucket NULLS FIRST;
