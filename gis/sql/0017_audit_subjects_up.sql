-- "Who saw this person's data, when, why": every disclosure row names the people it showed
-- (subjects: resident:<id>, person:<id>, household:<code>, incident:<code>,
-- service_order:<code>) and, for bulk reads and exports, the area whose subtree it covered.
-- Adding columns is DDL, which the append-only triggers (UPDATE/DELETE/TRUNCATE) do not refuse.
ALTER TABLE audit_log
    ADD COLUMN subjects text[] NOT NULL DEFAULT '{}',
    ADD COLUMN area_code text CHECK (area_code IS NULL OR area_code ~ '^[0-9]{6,15}$');
CREATE INDEX audit_log_subjects_idx ON audit_log USING gin (subjects);
CREATE INDEX audit_log_area_code_idx ON audit_log (area_code) WHERE area_code IS NOT NULL;
