-- Buildings of retired grid versions go to the new version containing their point on surface.
UPDATE building b SET grid_id = n.id
FROM area n
WHERE b.grid_id = ANY(:old_ids) AND b.valid_to IS NULL
  AND n.id = ANY(:new_ids) AND n.geom && b.anchor AND ST_Covers(n.geom, b.anchor)
  AND n.id = (SELECT m.id FROM area m WHERE m.id = ANY(:new_ids) AND ST_Covers(m.geom, b.anchor)
              ORDER BY m.code LIMIT 1)
