DROP FUNCTION grid_at(geometry);
