-- The geodesic area of every area version in km², kept by PostgreSQL itself: a stored generated
-- column is computed when a row is written (an import, a boundary commit, any UPDATE of geom),
-- so no writer can forget it and no read pays ST_Area(geom::geography) per row (grid tiles and
-- /items read it; on a z10 tile it was a fifth of the tile's SQL, bench/RESULTS.md).
ALTER TABLE area
    ADD COLUMN area_km2 double precision
        GENERATED ALWAYS AS (ST_Area(geom::geography) / 1e6) STORED;
