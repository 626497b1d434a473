-- Indexes for the two hottest single-point queries (issue 9, bench/RESULTS.md).

-- Intake's duplicate check looks for open cases within 50 m. Open cases are a few thousand
-- among a year's million, so a GiST index of just those answers it from a handful of entries
-- (the full GiST index plus (category, reported_at) took a bitmap AND of thousands of rows).
-- The list is gis.workflow.OPEN_STATUSES; the query spells it out literally so that the
-- planner can prove it matches this predicate, prepared statements included.
CREATE INDEX incident_open_geom_gist ON incident USING gist (geom)
    WHERE status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled');

-- locate's nearest 党群服务中心: a KNN index scan instead of a scan of every facility.
CREATE INDEX service_facility_centre_geom_gist ON service_facility USING gist (geom)
    WHERE kind = '党群服务中心';
