-- A draft step may draw a new grid around chosen buildings (gis.boundaries.operations.create).
ALTER TABLE changeset_operation DROP CONSTRAINT changeset_operation_kind_check;
ALTER TABLE changeset_operation ADD CONSTRAINT changeset_operation_kind_check CHECK (kind IN (
    'split', 'merge', 'move_vertices', 'reshape', 'transfer', 'create', 'replace', 'revert'));
