DROP TABLE changeset_attachment;
DROP INDEX party_org_one_branch_per_grid;
