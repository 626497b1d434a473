-- OGC collection "buildings": every version of every building, with its grid's code and its
-- household, resident and party-member counts.
SELECT b.code AS fid,
       b.geom,
       g.code AS scope_code,
       b.valid_from AS t_start,
       b.valid_to AS t_end,
       b.code,
       b.name,
       b.address,
       b.use,
       b.floors::int AS floors,
       b.units::int AS units,
       g.code AS grid_code,
       b.valid_from,
       b.valid_to,
       -- Precomputed for current buildings (building_stats, migration 0010); counted live
       -- only for the rows without one (old versions): COALESCE runs its subquery only then.
       coalesce(bs.households,
                (SELECT count(*) FROM household h WHERE h.building_id = b.id)::int)
           AS households,
       coalesce(bs.residents,
                (SELECT count(*) FROM resident r
                   JOIN household h ON h.id = r.household_id
                  WHERE h.building_id = b.id)::int) AS residents,
       coalesce(bs.party_members,
                (SELECT count(*) FROM party_member pm
                   JOIN resident r ON r.id = pm.resident_id
                   JOIN household h ON h.id = r.household_id
                  WHERE h.building_id = b.id)::int) AS party_members,
       -- A scalar subquery, not EXISTS: the planner may turn EXISTS into a hashed subplan that
       -- reads every building-level party organisation to return a page of ten rows; this
       -- probes party_org_building_idx for the rows of the page only.
       (SELECT true FROM party_org o
         WHERE o.level = 'building' AND o.building_id = b.id LIMIT 1) IS NOT NULL
           AS has_party_group
  FROM building b
  -- LEFT JOINs to unique keys: every building has its grid (grid_id NOT NULL REFERENCES area),
  -- so nothing changes for a page, and PostgreSQL drops both joins from a count (numberMatched)
  -- that uses none of their columns: the count reads only building.
  LEFT JOIN area g ON g.id = b.grid_id
  LEFT JOIN building_stats bs ON bs.building_id = b.id
