-- OGC collection "party_orgs": the party chain (public), located at its points. The area code
-- is the area served, or the grid of the building served. The chain's last link, 党员中心户, is
-- a role of a member household (party_central_household, migration 0030), not an organisation:
-- it is listed here at its building with level 'household', coded and named after the building
-- so that nothing public points at the flat. Members: a 支部's are those whose branch it is, a
-- 党小组's those of the group, a 党员中心户's those living in the household.
SELECT o.code AS fid,
       o.geom,
       coalesce(a.code, bg.code) AS scope_code,
       NULL::timestamptz AS t_start,
       NULL::timestamptz AS t_end,
       o.code,
       o.name,
       o.level,
       o.org_type,
       p.code AS parent_code,
       coalesce(a.code, bg.code) AS area_code,
       o.founded_on,
       ((SELECT count(*) FROM party_member pm WHERE pm.org_id = o.id)
        + (SELECT count(*) FROM party_member pm WHERE pm.group_id = o.id))::int AS members
  FROM party_org o
  LEFT JOIN party_org p ON p.id = o.parent_id
  LEFT JOIN area a ON a.id = o.area_id
  LEFT JOIN building b ON b.id = o.building_id
  LEFT JOIN area bg ON bg.id = b.grid_id
UNION ALL
SELECT c.code AS fid,
       hb.anchor AS geom,
       hg.code AS scope_code,
       NULL::timestamptz AS t_start,
       NULL::timestamptz AS t_end,
       c.code,
       hb.name || '党员中心户' AS name,
       'household' AS level,
       '党员中心户' AS org_type,
       coalesce(grp.code, br.code) AS parent_code,
       hg.code AS area_code,
       c.named_on AS founded_on,
       (SELECT count(*) FROM party_member pm JOIN resident r ON r.id = pm.resident_id
         WHERE r.household_id = c.household_id)::int AS members
  FROM party_central_household c
  JOIN party_member host ON host.id = c.member_id
  LEFT JOIN party_org grp ON grp.id = host.group_id
  LEFT JOIN party_org br ON br.id = host.org_id
  JOIN household h ON h.id = c.household_id
  JOIN building hb ON hb.id = h.building_id
  JOIN area hg ON hg.id = hb.grid_id
