-- Case-loop metrics per area (grid, community, street or district) and optional period, over
-- cases reported in [:start, :end). Cases keep the area VERSION ids in force when reported; they
-- are grouped by that version's code, so a redrawn grid's history stays with its code.
WITH base AS (
    SELECT i.status, i.rework_count, i.reported_at, i.closed_at, i.due_at,
           CASE :level
               WHEN 'grid' THEN g.code
               WHEN 'community' THEN c.code
               WHEN 'street' THEN s.code
               ELSE i.district_code::text
           END AS area_code,
           CASE WHEN CAST(:period AS text) IS NULL THEN NULL
                ELSE date_trunc(:period, i.reported_at, 'Asia/Shanghai') END AS period_start
    FROM incident i
    LEFT JOIN area s ON s.id = i.street_id
    LEFT JOIN area c ON c.id = i.community_id
    LEFT JOIN area g ON g.id = i.grid_id
    WHERE i.reported_at >= :start AND i.reported_at < :end
      AND (CAST(:within AS text) IS NULL
           OR coalesce(g.code, c.code, s.code, i.district_code) LIKE :within_like)
),
agg AS (
    SELECT area_code, period_start,
           count(*) AS reported,
           count(*) FILTER (WHERE status NOT IN ('reported', 'accepted', 'rejected')) AS registered,
           count(*) FILTER (WHERE status IN ('closed', 'evaluated')) AS closed,
           count(*) FILTER (WHERE status IN ('closed', 'evaluated') AND closed_at <= due_at)
               AS closed_on_time,
           count(*) FILTER (WHERE status NOT IN ('reported', 'accepted', 'rejected') AND rework_count > 0)
               AS reworked,
           avg(extract(epoch FROM closed_at - reported_at) / 3600.0)
               FILTER (WHERE status IN ('closed', 'evaluated')) AS avg_handling_hours,
           count(*) FILTER (WHERE status = ANY(:late) AND due_at < :as_of) AS overdue
    FROM base
    GROUP BY area_code, period_start
)
SELECT agg.*,
       (SELECT a.name FROM area a WHERE a.code = agg.area_code
        ORDER BY a.valid_to IS NULL DESC, a.valid_from DESC LIMIT 1) AS area_name
FROM agg
ORDER BY area_code NULLS LAST, period_start NULLS FIRST;
