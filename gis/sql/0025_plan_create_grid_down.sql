-- Without the kind, a draft cannot replay a "create" step: each draft keeps its steps before the
-- first one (head moved back to it). Committed boundaries are versions in area and stay as they
-- are; only the replayable steps of the changesets are dropped.
WITH first_create AS (
    SELECT changeset_id, min(seq) AS seq FROM changeset_operation
    WHERE kind = 'create' GROUP BY changeset_id
), dropped AS (
    DELETE FROM changeset_operation o USING first_create f
    WHERE o.changeset_id = f.changeset_id AND o.seq >= f.seq
    RETURNING o.changeset_id
)
UPDATE changeset c SET head = LEAST(c.head, f.seq - 1)
FROM first_create f WHERE c.id = f.changeset_id;
ALTER TABLE changeset_operation DROP CONSTRAINT changeset_operation_kind_check;
ALTER TABLE changeset_operation ADD CONSTRAINT changeset_operation_kind_check CHECK (kind IN (
    'split', 'merge', 'move_vertices', 'reshape', 'transfer', 'replace', 'revert'));
