-- Boundary editing: changesets (drafts and committed edits), their operations, the area versions
-- each committed changeset retired or created, and the lineage between grid versions.

CREATE TABLE changeset (
    id                    bigserial PRIMARY KEY,
    -- A community (12 digits) or a street (12 digits ending 000): the area whose grids it edits.
    scope_code            text NOT NULL CHECK (scope_code ~ '^[0-9]{12}$'),
    title                 text NOT NULL DEFAULT '' CHECK (length(title) <= 200),
    status                text NOT NULL DEFAULT 'draft'
                              CHECK (status IN ('draft', 'committed', 'discarded')),
    -- The grid versions the draft started from ({code: {id, version}}) and the next free code
    -- sequence per community: optimistic concurrency and code allocation both replay from here.
    base                  jsonb NOT NULL CHECK (jsonb_typeof(base) = 'object'),
    -- Operations 1..head are applied; head < max(seq) means some were undone (redo possible).
    head                  integer NOT NULL DEFAULT 0 CHECK (head >= 0),
    created_by            text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    committed_by          text,
    committed_at          timestamptz,
    -- Who and why: kept here as the audit record of the edit (and in gis.audit when present).
    reason                text,
    choices               jsonb,
    reverts_changeset_id  bigint REFERENCES changeset (id) ON DELETE RESTRICT,
    CONSTRAINT changeset_committed CHECK (
        (status = 'committed') = (committed_at IS NOT NULL AND committed_by IS NOT NULL
                                  AND reason IS NOT NULL)
    )
);
CREATE INDEX changeset_scope_idx ON changeset (scope_code, status);
CREATE INDEX changeset_committed_at_idx ON changeset (committed_at) WHERE status = 'committed';

CREATE TABLE changeset_operation (
    changeset_id  bigint NOT NULL REFERENCES changeset (id) ON DELETE CASCADE,
    seq           integer NOT NULL CHECK (seq >= 1),
    kind          text NOT NULL CHECK (kind IN (
                      'split', 'merge', 'move_vertices', 'reshape', 'transfer', 'replace', 'revert')),
    params        jsonb NOT NULL,
    summary       text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (changeset_id, seq)
);

-- Which area versions a committed changeset closed (retired) and opened (created).
CREATE TABLE changeset_area (
    changeset_id  bigint NOT NULL REFERENCES changeset (id) ON DELETE CASCADE,
    area_id       bigint NOT NULL REFERENCES area (id) ON DELETE RESTRICT,
    role          text NOT NULL CHECK (role IN ('retired', 'created')),
    PRIMARY KEY (changeset_id, area_id)
);
CREATE INDEX changeset_area_area_idx ON changeset_area (area_id);

CREATE TABLE area_lineage (
    id                bigserial PRIMARY KEY,
    changeset_id      bigint NOT NULL REFERENCES changeset (id) ON DELETE CASCADE,
    predecessor_id    bigint NOT NULL REFERENCES area (id) ON DELETE RESTRICT,
    successor_id      bigint NOT NULL REFERENCES area (id) ON DELETE RESTRICT,
    kind              text NOT NULL CHECK (kind IN ('split', 'merge', 'reshape', 'transfer')),
    -- Share of the predecessor's area that went to the successor (0..1].
    area_share        double precision NOT NULL CHECK (area_share > 0 AND area_share <= 1.000001),
    area_m2           double precision NOT NULL CHECK (area_m2 >= 0),
    households_moved  integer NOT NULL CHECK (households_moved >= 0),
    buildings_moved   integer NOT NULL CHECK (buildings_moved >= 0),
    CONSTRAINT area_lineage_pair_uq UNIQUE (changeset_id, predecessor_id, successor_id),
    CONSTRAINT area_lineage_distinct CHECK (predecessor_id <> successor_id)
);
CREATE INDEX area_lineage_predecessor_idx ON area_lineage (predecessor_id);
CREATE INDEX area_lineage_successor_idx ON area_lineage (successor_id);
-- Impact previews count the party-member central households (党员中心户) of each building's
-- households; without this index that is a scan of every party organisation per building.
CREATE INDEX IF NOT EXISTS party_org_household_idx ON party_org (household_id);
-- "As of" queries scan versions by level and period.
CREATE INDEX area_period_idx ON area (level, valid_from, valid_to);
