-- Facilities attached to a retired grid version follow their location.
UPDATE service_facility f SET area_id = n.id
FROM area n
WHERE f.area_id = ANY(:old_ids)
  AND n.id = (SELECT m.id FROM area m WHERE m.id = ANY(:new_ids) AND m.geom && f.geom
              AND ST_Covers(m.geom, f.geom) ORDER BY m.code LIMIT 1)
