-- OGC collection "grids": every version of every grid (the caller picks versions by
-- t_start/t_end). A grid's buildings are those whose grid_id is this version; incidents count
-- under every version of the same code (they keep the version in force when reported).
SELECT a.code AS fid,
       a.geom,
       a.code AS scope_code,
       a.valid_from AS t_start,
       a.valid_to AS t_end,
       a.code,
       a.name,
       a.level,
       a.kind,
       p.code AS parent_code,
       a.version,
       a.valid_from,
       a.valid_to,
       (SELECT count(*) FROM building b
         WHERE b.grid_id = a.id AND b.valid_to IS NULL)::int AS buildings,
       EXISTS (SELECT 1 FROM party_org o
                WHERE o.level = 'grid' AND o.area_id IN (SELECT v.id FROM area v WHERE v.code = a.code)
       ) AS has_party_branch,
       (SELECT count(*) BETWEEN 300 AND 500 FROM household h
          JOIN building b ON b.id = h.building_id
         WHERE b.grid_id = a.id AND b.valid_to IS NULL) AS households_in_standard,
       (SELECT count(*) FROM household h
          JOIN building b ON b.id = h.building_id
         WHERE b.grid_id = a.id AND b.valid_to IS NULL)::int AS households,
       (SELECT count(*) FROM resident r
          JOIN household h ON h.id = r.household_id
          JOIN building b ON b.id = h.building_id
         WHERE b.grid_id = a.id AND b.valid_to IS NULL)::int AS residents,
       (SELECT count(*) FROM party_member pm
          JOIN resident r ON r.id = pm.resident_id
          JOIN household h ON h.id = r.household_id
          JOIN building b ON b.id = h.building_id
         WHERE b.grid_id = a.id AND b.valid_to IS NULL)::int AS party_members,
       (SELECT count(*) FROM incident i
         WHERE i.grid_id IN (SELECT v.id FROM area v WHERE v.code = a.code)
           AND i.status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled')
       )::int AS open_incidents
  FROM area a
  LEFT JOIN area p ON p.id = a.parent_id
 WHERE a.level = 'grid'
