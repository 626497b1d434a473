-- OGC collection "grids": every version of every grid (the caller picks versions by
-- t_start/t_end). A grid's buildings are those whose grid_id is this version; incidents count
-- under every version of the same code (they keep the version in force when reported).
-- Buildings, households, residents and party members come from one walk of the grid's
-- buildings → households → residents (LEFT JOIN LATERAL … ON true, an aggregate without GROUP
-- BY: one row per grid, so PostgreSQL drops the join when no count is selected, e.g. for
-- numberMatched). area_km2 is the geodesic area.
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
       round((ST_Area(a.geom::geography) / 1e6)::numeric, 4)::float8 AS area_km2,
       people.buildings,
       EXISTS (SELECT 1 FROM party_org o
                WHERE o.level = 'grid' AND o.area_id IN (SELECT v.id FROM area v WHERE v.code = a.code)
       ) AS has_party_branch,
       people.households BETWEEN 300 AND 500 AS households_in_standard,
       people.households,
       people.residents,
       people.party_members,
       (SELECT count(*) FROM incident i
         WHERE i.grid_id IN (SELECT v.id FROM area v WHERE v.code = a.code)
           AND i.status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled')
       )::int AS open_incidents
  FROM area a
  LEFT JOIN area p ON p.id = a.parent_id
  LEFT JOIN LATERAL (
       SELECT count(DISTINCT b.id)::int AS buildings,
              count(DISTINCT h.id)::int AS households,
              count(r.id)::int AS residents,
              count(pm.id)::int AS party_members
         FROM building b
         LEFT JOIN household h ON h.building_id = b.id
         LEFT JOIN resident r ON r.household_id = h.id
         LEFT JOIN party_member pm ON pm.resident_id = r.id
        WHERE b.grid_id = a.id AND b.valid_to IS NULL) people ON true
 WHERE a.level = 'grid'
