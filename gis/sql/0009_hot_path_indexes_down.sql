DROP INDEX IF EXISTS service_facility_centre_geom_gist;
DROP INDEX IF EXISTS incident_open_geom_gist;
