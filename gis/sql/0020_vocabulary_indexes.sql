-- The partial indexes on the vocabulary's sets, built again after 0021_case_workflow replaced
-- the functions (up) or put the old ones back (down): a partial index's predicate was folded to
-- the constant list when it was built.
DROP INDEX incident_open_geom_gist;
CREATE INDEX incident_open_geom_gist ON incident USING gist (geom)
    WHERE status = ANY (incident_open_statuses());
DROP INDEX incident_open_due_idx;
CREATE INDEX incident_open_due_idx ON incident (due_at)
    WHERE status = ANY (incident_late_statuses());
DROP INDEX incident_open_grid_idx;
CREATE INDEX incident_open_grid_idx ON incident (grid_id)
    WHERE status = ANY (incident_open_statuses());
DROP INDEX incident_open_community_idx;
CREATE INDEX incident_open_community_idx ON incident (community_id)
    WHERE status = ANY (incident_open_statuses());
DROP INDEX incident_open_street_idx;
CREATE INDEX incident_open_street_idx ON incident (street_id)
    WHERE status = ANY (incident_open_statuses());
