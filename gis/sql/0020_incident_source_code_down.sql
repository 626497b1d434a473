DROP INDEX IF EXISTS incident_source_code_idx;
