-- Facilities attached to a retired grid version follow their location by grid_at().
UPDATE service_facility f SET area_id = r.grid_id
FROM (SELECT o.id, at.grid_id
      FROM service_facility o CROSS JOIN LATERAL grid_at(o.geom) AS at
      WHERE o.area_id = ANY(:old_ids)) AS r
WHERE f.id = r.id
