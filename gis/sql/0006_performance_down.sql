DROP INDEX IF EXISTS building_current_geom_gist;
DROP INDEX IF EXISTS area_current_grid_geom_gist;
DROP TRIGGER IF EXISTS grid_lookup_sync ON area;
DROP FUNCTION IF EXISTS grid_lookup_sync();
DROP FUNCTION IF EXISTS grid_lookup_refresh(text);
DROP TABLE IF EXISTS grid_lookup;
