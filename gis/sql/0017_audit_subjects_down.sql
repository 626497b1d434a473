DROP INDEX IF EXISTS audit_log_area_code_idx;
DROP INDEX IF EXISTS audit_log_subjects_idx;
ALTER TABLE audit_log DROP COLUMN area_code, DROP COLUMN subjects;
