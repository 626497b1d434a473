-- Open incidents follow their location by grid_at() (the rule intake uses); closed ones keep the
-- version they were reported in. A point no current grid contains keeps its old version.
UPDATE incident i SET grid_id = r.grid_id, updated_at = now()
FROM (SELECT o.id, at.grid_id
      FROM incident o CROSS JOIN LATERAL grid_at(o.geom) AS at
      WHERE o.grid_id = ANY(:old_ids) AND o.status = ANY(:open)) AS r
WHERE i.id = r.id
