-- OGC collection "communities": every version of every community (the caller picks versions by
-- t_start/t_end). Counts are over the current subtree: grids whose code extends the community's.
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
       (SELECT count(*) FROM area g
         WHERE g.level = 'grid' AND g.valid_to IS NULL
           AND g.code LIKE a.code || '%')::int AS grids,
       (SELECT count(*) FROM household h
          JOIN building b ON b.id = h.building_id
          JOIN area g ON g.id = b.grid_id
         WHERE b.valid_to IS NULL AND g.code LIKE a.code || '%')::int AS households,
       (SELECT count(*) FROM resident r
          JOIN household h ON h.id = r.household_id
          JOIN building b ON b.id = h.building_id
          JOIN area g ON g.id = b.grid_id
         WHERE b.valid_to IS NULL AND g.code LIKE a.code || '%')::int AS residents,
       (SELECT count(*) FROM party_member pm
          JOIN resident r ON r.id = pm.resident_id
          JOIN household h ON h.id = r.household_id
          JOIN building b ON b.id = h.building_id
          JOIN area g ON g.id = b.grid_id
         WHERE b.valid_to IS NULL AND g.code LIKE a.code || '%')::int AS party_members,
       (SELECT count(*) FROM incident i
         WHERE i.community_id IN (SELECT v.id FROM area v WHERE v.code = a.code)
           AND i.status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled')
       )::int AS open_incidents
  FROM area a
  LEFT JOIN area p ON p.id = a.parent_id
 WHERE a.level = 'community'
