-- Predecessor → successor pairs of one commit: shared area and what the successor took over.
WITH pairs AS (
    SELECT o.id AS predecessor_id, n.id AS successor_id,
           ST_Area(ST_Intersection(o.geom, n.geom)::geography) AS area_m2,
           ST_Area(o.geom::geography) AS old_m2
    FROM area o JOIN area n ON n.id = ANY(:new_ids) AND o.geom && n.geom
    WHERE o.id = ANY(:old_ids) AND o.code IS NOT NULL
)
SELECT p.predecessor_id, p.successor_id, p.area_m2, p.area_m2 / nullif(p.old_m2, 0) AS area_share,
       (SELECT count(*) FROM building b JOIN household h ON h.building_id = b.id
        JOIN area n ON n.id = p.successor_id
        WHERE b.grid_id = p.predecessor_id AND b.valid_to IS NULL
          AND ST_Covers(n.geom, b.anchor)) AS households_moved,
       (SELECT count(*) FROM building b JOIN area n ON n.id = p.successor_id
        WHERE b.grid_id = p.predecessor_id AND b.valid_to IS NULL
          AND ST_Covers(n.geom, b.anchor)) AS buildings_moved
FROM pairs p
WHERE p.area_m2 >= :min_m2 AND p.predecessor_id <> p.successor_id
ORDER BY 1, 2
