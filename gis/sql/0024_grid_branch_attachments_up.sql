-- A grid has at most one grid party branch (网格党支部). A grid with none is a blank spot
-- (党建空白点); a boundary commit may leave one only where the planner confirmed it.
CREATE UNIQUE INDEX party_org_one_branch_per_grid ON party_org (area_id) WHERE level = 'grid';

-- Every attachment a boundary commit changed that does not follow a location: a grid party
-- branch moved, created or dissolved into another, a party member or building party group
-- re-pointed to the branch of its new grid. A revert replays these backwards.
CREATE TABLE changeset_attachment (
    id            bigserial PRIMARY KEY,
    changeset_id  bigint NOT NULL REFERENCES changeset (id) ON DELETE CASCADE,
    -- 'move': column of entity row changed old_value → new_value;
    -- 'create': the row was inserted (row holds it); 'dissolve': the row was deleted (row holds it).
    action        text NOT NULL CHECK (action IN ('move', 'create', 'dissolve')),
    entity        text NOT NULL CHECK (entity IN ('party_org', 'party_member', 'service_order')),
    entity_id     bigint NOT NULL,
    field         text CHECK (field IN ('area_id', 'parent_id', 'org_id')),
    old_value     bigint,
    new_value     bigint,
    row_data      jsonb,
    CONSTRAINT changeset_attachment_move CHECK ((action = 'move') = (field IS NOT NULL))
);
CREATE INDEX changeset_attachment_changeset_idx ON changeset_attachment (changeset_id, id);
