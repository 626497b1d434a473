-- Open incidents follow their location; closed ones keep the version they were reported in.
UPDATE incident i SET grid_id = n.id, updated_at = now()
FROM area n
WHERE i.grid_id = ANY(:old_ids) AND i.status = ANY(:open)
  AND n.id = (SELECT m.id FROM area m WHERE m.id = ANY(:new_ids) AND m.geom && i.geom
              AND ST_Covers(m.geom, i.geom) ORDER BY m.code LIMIT 1)
