-- OGC collection "grids": every version of every grid (the caller picks versions by
-- t_start/t_end). Buildings, households, residents and party members are those of the current
-- buildings whose grid_id is this version, precomputed in area_stats (migration 0008; rows of
-- current versions only, so older versions, whose buildings moved on, count 0). Open incidents
-- are live: they count under every version of the same code (they keep the version in force
-- when reported), through the partial index of open incidents. area_km2 is the geodesic area,
-- stored with the row (migration 0026), rounded here.
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
       round(a.area_km2::numeric, 4)::float8 AS area_km2,
       coalesce(st.buildings, 0) AS buildings,
       EXISTS (SELECT 1 FROM party_org o
                WHERE o.level = 'grid' AND o.area_id IN (SELECT v.id FROM area v WHERE v.code = a.code)
       ) AS has_party_branch,
       coalesce(st.households, 0) BETWEEN 300 AND 500 AS households_in_standard,
       coalesce(st.households, 0) AS households,
       coalesce(st.residents, 0) AS residents,
       coalesce(st.party_members, 0) AS party_members,
       (SELECT count(*) FROM incident i
         WHERE i.grid_id IN (SELECT v.id FROM area v WHERE v.code = a.code)
           AND i.status = ANY (incident_open_statuses())
       )::int AS open_incidents
  FROM area a
  LEFT JOIN area p ON p.id = a.parent_id
  LEFT JOIN area_stats st ON st.area_id = a.id
 WHERE a.level = 'grid'
