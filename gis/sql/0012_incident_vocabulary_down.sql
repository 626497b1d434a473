-- Back to the literal lists of migrations 0001, 0004, 0007, 0008 and 0009.
ALTER TABLE incident
    DROP CONSTRAINT incident_status_check,
    DROP CONSTRAINT incident_source_check,
    DROP CONSTRAINT incident_category_fits_kind,
    DROP CONSTRAINT incident_closed_at,
    DROP CONSTRAINT incident_resolution_check,
    ADD CONSTRAINT incident_status_check CHECK (status IN (
        'reported', 'registered', 'rejected', 'dispatched', 'in_progress', 'handled', 'closed',
        'evaluated')),
    ADD CONSTRAINT incident_source_check
        CHECK (source IN ('grid_worker', 'hotline', 'public', 'open311', 'patrol', 'import')),
    ADD CONSTRAINT incident_kind_check CHECK (kind IN ('event', 'component')),
    ADD CONSTRAINT incident_category_fits_kind CHECK (
        (kind = 'event' AND category IN ('市容环境', '宣传广告', '施工管理', '街面秩序', '突发事件', '其他')) OR
        (kind = 'component' AND category IN ('公用设施', '交通设施', '市容环境设施', '园林绿化设施', '其他设施'))),
    ADD CONSTRAINT incident_closed_at
        CHECK ((closed_at IS NOT NULL) = (status IN ('closed', 'evaluated'))),
    ADD CONSTRAINT incident_resolution_check
        CHECK (resolution IN ('duplicate', 'not_responsible', 'invalid'));

DROP INDEX incident_open_geom_gist;
CREATE INDEX incident_open_geom_gist ON incident USING gist (geom)
    WHERE status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled');
DROP INDEX incident_open_due_idx;
CREATE INDEX incident_open_due_idx ON incident (due_at)
    WHERE status IN ('reported', 'registered', 'dispatched', 'in_progress');
DROP INDEX incident_assignee_open_idx;
CREATE INDEX incident_assignee_open_idx ON incident (assignee_id)
    WHERE status IN ('registered', 'dispatched', 'in_progress');
DROP INDEX incident_open_grid_idx;
CREATE INDEX incident_open_grid_idx ON incident (grid_id)
    WHERE status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled');
DROP INDEX incident_open_community_idx;
CREATE INDEX incident_open_community_idx ON incident (community_id)
    WHERE status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled');
DROP INDEX incident_open_street_idx;
CREATE INDEX incident_open_street_idx ON incident (street_id)
    WHERE status IN ('reported', 'registered', 'dispatched', 'in_progress', 'handled');

DROP FUNCTION incident_kind_of(text);
DROP FUNCTION incident_reject_resolutions();
DROP FUNCTION incident_sources();
DROP FUNCTION incident_workload_statuses();
DROP FUNCTION incident_late_statuses();
DROP FUNCTION incident_closed_statuses();
DROP FUNCTION incident_open_statuses();
DROP FUNCTION incident_statuses();
