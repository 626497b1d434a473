-- Open cases of the same category within :radius metres and :window of one case's report: the
-- candidates a dispatcher may link it to as a duplicate (不予立案, resolution duplicate). Cases
-- already linked to it, or it to them, are left out. Distance along the ellipsoid.
SELECT o.id, o.code, o.status, o.category, o.reported_at, left(o.description, 80) AS summary,
       ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat,
       ST_Distance(o.geom::geography, i.geom::geography) AS distance_m
FROM incident i
JOIN incident o
  ON o.id <> i.id
 AND o.geom && ST_Expand(i.geom, 0.001)
 AND ST_DWithin(o.geom::geography, i.geom::geography, :radius)
 AND o.category = i.category
 AND o.status = ANY (incident_open_statuses())
 AND o.reported_at BETWEEN i.reported_at - :window AND i.reported_at + :window
WHERE i.id = :id
  AND NOT EXISTS (SELECT 1 FROM incident_duplicate d
                  WHERE (d.incident_id = i.id AND d.duplicate_of = o.id)
                     OR (d.incident_id = o.id AND d.duplicate_of = i.id))
ORDER BY distance_m, o.id
LIMIT 20;
