-- The command centre's work queue: compact rows of the cases in the viewer's scope that match
-- the filters, plus the counts of the trays over the same filters. One statement, so the page
-- and its counts see the same snapshot. The ORDER BY clause is one of a fixed set in
-- gis/incidents/queue.py (never user text); every value is bound.
WITH base AS (
    SELECT i.id, i.code, i.status, i.category, i.kind, i.source,
           left(i.description, 80) AS summary,
           ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat,
           s.code AS street_code, c.code AS community_code, g.code AS grid_code,
           g.name AS grid_name, i.assignee_id, i.dispatched_to, i.rework_count,
           i.escalation_level, i.reported_at, i.due_at, i.updated_at,
           coalesce(i.status = ANY (incident_late_statuses()) AND i.due_at < :now, false) AS overdue,
           i.grid_id IS NULL AS unassigned,
           (i.escalated_at IS NOT NULL AND i.escalation_level <> 'grid') AS escalated
    FROM incident i
    LEFT JOIN area s ON s.id = i.street_id
    LEFT JOIN area c ON c.id = i.community_id
    LEFT JOIN area g ON g.id = i.grid_id
    WHERE coalesce(g.code, c.code, s.code, i.district_code) LIKE :scope_like
      AND i.status = ANY(CAST(:statuses AS text[]))
      AND (CAST(:category AS text) IS NULL OR i.category = :category)
      AND (CAST(:source AS text) IS NULL OR i.source = :source)
      AND (CAST(:within_like AS text) IS NULL
           OR coalesce(g.code, c.code, s.code, i.district_code) LIKE :within_like)
      AND (CAST(:assignee AS bigint) IS NULL OR i.assignee_id = :assignee)
      AND (CAST(:start AS timestamptz) IS NULL OR i.reported_at >= :start)
      AND (CAST(:end AS timestamptz) IS NULL OR i.reported_at < :end)
      AND (CAST(:code_like AS text) IS NULL OR i.code ILIKE :code_like ESCAPE '\')
),
filtered AS (
    SELECT * FROM base
    WHERE (CAST(:overdue AS boolean) IS NULL OR overdue = :overdue)
      AND (CAST(:tray AS text) IS NULL
           OR (:tray = 'unassigned' AND unassigned)
           OR (:tray = 'escalated' AND escalated))
),
counts AS (
    SELECT count(*) AS count_all,
           count(*) FILTER (WHERE overdue) AS count_overdue,
           count(*) FILTER (WHERE unassigned) AS count_unassigned,
           count(*) FILTER (WHERE escalated) AS count_escalated
    FROM base
),
facets AS (
    SELECT jsonb_build_object(
        'status', (SELECT coalesce(jsonb_object_agg(k, n), '{{}}') FROM
                   (SELECT status AS k, count(*) AS n FROM filtered GROUP BY 1) x),
        'category', (SELECT coalesce(jsonb_object_agg(k, n), '{{}}') FROM
                     (SELECT category AS k, count(*) AS n FROM filtered GROUP BY 1) x),
        'source', (SELECT coalesce(jsonb_object_agg(k, n), '{{}}') FROM
                   (SELECT source AS k, count(*) AS n FROM filtered GROUP BY 1) x)
    ) AS facets
),
page AS (
    SELECT * FROM filtered
    ORDER BY {order_by}
    LIMIT :lim OFFSET :off
)
SELECT (SELECT count(*) FROM filtered) AS total, counts.*, facets.facets, page.*
FROM counts CROSS JOIN facets LEFT JOIN page ON true
ORDER BY {order_by};
