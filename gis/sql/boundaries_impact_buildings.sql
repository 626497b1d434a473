-- Buildings of the changed grids: where they are now and which draft grid their point on
-- surface falls in, with what hangs on them (households, residents, party members, party orgs).
WITH draft AS (
    SELECT d->>'code' AS code, ST_SetSRID(ST_GeomFromGeoJSON(d->>'geometry'), 4326) AS geom
    FROM jsonb_array_elements(CAST(:draft AS jsonb)) AS d
)
SELECT b.code, b.name, g.code AS old_code,
       (SELECT d.code FROM draft d WHERE d.geom && b.anchor AND ST_Covers(d.geom, b.anchor)
        ORDER BY d.code LIMIT 1) AS new_code,
       (SELECT count(*) FROM household h WHERE h.building_id = b.id) AS households,
       (SELECT count(*) FROM household h JOIN resident r ON r.household_id = h.id
        WHERE h.building_id = b.id) AS residents,
       (SELECT count(*) FROM household h JOIN resident r ON r.household_id = h.id
        JOIN party_member m ON m.resident_id = r.id WHERE h.building_id = b.id) AS party_members,
       (SELECT count(*) FROM party_org o WHERE o.building_id = b.id)
       + (SELECT count(*) FROM household h JOIN party_central_household c
          ON c.household_id = h.id WHERE h.building_id = b.id) AS party_orgs
FROM building b JOIN area g ON g.id = b.grid_id
WHERE b.grid_id = ANY(:old_ids) AND b.valid_to IS NULL
ORDER BY b.code
