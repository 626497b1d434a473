-- Case counts per hexagon of edge :size (Web Mercator metres, chosen from the map's zoom) over
-- the view :w,:s,:e,:n and optional time bucket. ST_HexagonGrid's (i, j) name a cell for good,
-- so the client can key hexagons across requests.
WITH pts AS (
    SELECT ST_Transform(i.geom, 3857) AS g,
           CASE WHEN CAST(:bucket AS text) IS NULL THEN NULL
                ELSE date_trunc(:bucket, i.reported_at, 'Asia/Shanghai') END AS bucket,
           i.status, (i.status = ANY(:late) AND i.due_at < :now) AS late
    FROM incident i
    LEFT JOIN area s ON s.id = i.street_id
    LEFT JOIN area c ON c.id = i.community_id
    LEFT JOIN area g ON g.id = i.grid_id
    /*WHERE*/
),
hex AS (
    SELECT h.geom, h.i, h.j
    FROM ST_HexagonGrid(:size, ST_Transform(ST_MakeEnvelope(:w, :s, :e, :n, 4326), 3857)) h
)
SELECT hex.i, hex.j, pts.bucket, count(*) AS n,
       count(*) FILTER (WHERE pts.status = ANY (incident_open_statuses())) AS open,
       count(*) FILTER (WHERE pts.late) AS overdue,
       ST_AsGeoJSON(ST_Transform(hex.geom, 4326), 6) AS geometry
FROM hex JOIN pts ON ST_Intersects(hex.geom, pts.g)
GROUP BY hex.i, hex.j, hex.geom, pts.bucket
ORDER BY hex.i, hex.j, pts.bucket NULLS FIRST;
