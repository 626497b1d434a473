-- OGC collection "party_orgs": party organisations (public), located at their point. The area
-- code is the area served, or the grid of the building / household served.
SELECT o.code AS fid,
       o.geom,
       coalesce(a.code, bg.code, hg.code) AS scope_code,
       NULL::timestamptz AS t_start,
       NULL::timestamptz AS t_end,
       o.code,
       o.name,
       o.level,
       o.org_type,
       p.code AS parent_code,
       coalesce(a.code, bg.code, hg.code) AS area_code,
       o.founded_on,
       (SELECT count(*) FROM party_member pm WHERE pm.org_id = o.id)::int AS members
  FROM party_org o
  LEFT JOIN party_org p ON p.id = o.parent_id
  LEFT JOIN area a ON a.id = o.area_id
  LEFT JOIN building b ON b.id = o.building_id
  LEFT JOIN area bg ON bg.id = b.grid_id
  LEFT JOIN household h ON h.id = o.household_id
  LEFT JOIN building hb ON hb.id = h.building_id
  LEFT JOIN area hg ON hg.id = hb.grid_id
