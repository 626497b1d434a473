-- OGC collection "streets": every version of every street (the caller picks versions by
-- t_start/t_end). Counts are over the current subtree (grids whose code extends the street's
-- first nine digits), precomputed in area_stats for the current version of the code (migration
-- 0008); every version shows them. Open incidents are live.
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
       coalesce(st.grids, 0) AS grids,
       coalesce(st.households, 0) AS households,
       coalesce(st.residents, 0) AS residents,
       coalesce(st.party_members, 0) AS party_members,
       (SELECT count(*) FROM incident i
         WHERE i.street_id IN (SELECT v.id FROM area v WHERE v.code = a.code)
           AND i.status = ANY (incident_open_statuses())
       )::int AS open_incidents
  FROM area a
  LEFT JOIN area p ON p.id = a.parent_id
  LEFT JOIN area_stats st ON st.code = a.code
 WHERE a.level = 'street'
