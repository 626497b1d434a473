DROP INDEX IF EXISTS area_period_idx;
DROP INDEX IF EXISTS party_org_household_idx;
DROP TABLE IF EXISTS area_lineage;
DROP TABLE IF EXISTS changeset_area;
DROP TABLE IF EXISTS changeset_operation;
DROP TABLE IF EXISTS changeset;
