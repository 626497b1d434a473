-- The current grid a WGS84 point belongs to: the one rule that intake, locate, bulk routing and
-- re-pointing after a boundary change all call. A point on a boundary shared by several grids, or
-- inside grids that overlap (多网合一 leftovers: a 专属网格 drawn over a 综合网格), belongs to the
-- comprehensive grid (综合网格) first, then to the lowest code. No row outside every grid.
-- It probes grid_lookup (current grids cut into pieces of ≤ 64 vertices, migration 0006, kept in
-- step with every write of `area` by a trigger, so also inside a boundary commit's transaction).
-- A set-returning SQL function of one SELECT is inlined into the query that calls it, so each
-- caller's plan still probes the GiST index of grid_lookup directly.
CREATE FUNCTION grid_at(pt geometry) RETURNS TABLE (grid_id bigint, code text)
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT l.grid_id, l.code
    FROM grid_lookup l JOIN area a ON a.id = l.grid_id
    WHERE ST_Intersects(l.geom, pt)
    ORDER BY (a.kind = '综合网格') DESC, l.code
    LIMIT 1
$$;
