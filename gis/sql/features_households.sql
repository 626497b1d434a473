-- OGC collection "households" (personal data): households at their building's point on surface,
-- scoped by the grid code of the building. The head of household is the resident related 户主.
SELECT h.code AS fid,
       b.anchor AS geom,
       g.code AS scope_code,
       NULL::timestamptz AS t_start,
       NULL::timestamptz AS t_end,
       h.code,
       b.code AS building_code,
       g.code AS grid_code,
       h.unit::int AS unit,
       h.floor::int AS floor,
       h.room,
       h.address,
       (SELECT count(*) FROM resident r WHERE r.household_id = h.id)::int AS residents,
       (SELECT count(*) FROM party_member pm
          JOIN resident r ON r.id = pm.resident_id
         WHERE r.household_id = h.id)::int AS party_members,
       hd.name AS head_name,
       hd.phone AS head_phone
  FROM household h
  JOIN building b ON b.id = h.building_id
  JOIN area g ON g.id = b.grid_id
  LEFT JOIN LATERAL (
        SELECT r.name, r.phone FROM resident r
         WHERE r.household_id = h.id AND r.relation = '户主'
         ORDER BY r.id LIMIT 1) hd ON true
