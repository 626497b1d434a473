-- Organisational life (组织生活): 三会一课 and 主题党日 meetings of party branches, with the
-- attendance of each member. gis/orglife/rules.py owns the kinds and attendance keys; a test
-- checks that the CHECKs below list the same ones.
--
-- A meeting keeps the codes and names of the branch (and 党小组) that held it: a boundary commit
-- may dissolve a branch (gis/boundaries/attachments.py deletes the row), and the record of
-- what it held must outlive it, so the references fall to NULL instead of blocking the commit.
CREATE TABLE org_meeting (
    id              bigserial PRIMARY KEY,
    branch_id       bigint REFERENCES party_org (id) ON DELETE SET NULL,
    org_id          bigint REFERENCES party_org (id) ON DELETE SET NULL,
    branch_code     text NOT NULL,
    org_code        text NOT NULL,
    org_name        text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('general_meeting', 'committee_meeting',
                                                  'group_meeting', 'party_lecture', 'theme_day')),
    held_on         date NOT NULL,
    place           text NOT NULL CHECK (length(btrim(place)) BETWEEN 1 AND 100),
    topic           text NOT NULL CHECK (length(btrim(topic)) BETWEEN 1 AND 200),
    minutes         text NOT NULL DEFAULT '' CHECK (length(minutes) <= 20000),
    recorded_by     text NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    -- A retried POST with the same Idempotency-Key returns this meeting (fingerprint: the body).
    idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    fingerprint     text,
    -- A 党小组会 is held by a 党小组 of the branch; every other kind by the branch itself.
    CONSTRAINT org_meeting_holder CHECK ((kind = 'group_meeting') = (org_code <> branch_code)),
    CONSTRAINT org_meeting_idempotency CHECK ((idempotency_key IS NULL) = (fingerprint IS NULL))
);
CREATE INDEX org_meeting_branch_held_idx ON org_meeting (branch_id, held_on);
CREATE INDEX org_meeting_held_idx ON org_meeting (held_on);
CREATE UNIQUE INDEX org_meeting_idempotency_uq ON org_meeting (branch_code, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE org_meeting_attendance (
    meeting_id  bigint NOT NULL REFERENCES org_meeting (id) ON DELETE CASCADE,
    member_id   bigint NOT NULL REFERENCES party_member (id) ON DELETE CASCADE,
    status      text NOT NULL CHECK (status IN ('present', 'absent', 'leave')),
    PRIMARY KEY (meeting_id, member_id)
);
CREATE INDEX org_meeting_attendance_member_idx ON org_meeting_attendance (member_id);
