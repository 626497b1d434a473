DROP TRIGGER IF EXISTS data_version_bump ON building_stats;
DROP FUNCTION IF EXISTS building_stats_refresh(text);
DROP TABLE IF EXISTS building_stats;
