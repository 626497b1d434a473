-- OGC collection "incidents": cases with their public fields and the codes of the area versions
-- in force when they were reported. Reporter fields are personal: the caller drops or masks them.
SELECT i.code AS fid,
       i.geom,
       coalesce(g.code, c.code, s.code, i.district_code) AS scope_code,
       i.reported_at AS t_start,
       NULL::timestamptz AS t_end,
       i.code,
       i.kind,
       i.category,
       i.description,
       i.source,
       i.status,
       i.address,
       s.code AS street_code,
       c.code AS community_code,
       g.code AS grid_code,
       i.reported_at,
       i.due_at,
       i.closed_at,
       i.rating::int AS rating,
       i.status = ANY (incident_open_statuses()) AS open,
       (i.status = ANY (incident_open_statuses())
        AND i.due_at < now()) AS overdue,
       i.reporter_name,
       i.reporter_phone
  FROM incident i
  LEFT JOIN area s ON s.id = i.street_id
  LEFT JOIN area c ON c.id = i.community_id
  LEFT JOIN area g ON g.id = i.grid_id
