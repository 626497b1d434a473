-- Buildings of retired grid versions go to the grid at their point on surface by grid_at().
UPDATE building b SET grid_id = r.grid_id
FROM (SELECT o.id, at.grid_id
      FROM building o CROSS JOIN LATERAL grid_at(o.anchor) AS at
      WHERE o.grid_id = ANY(:old_ids) AND o.valid_to IS NULL) AS r
WHERE b.id = r.id
