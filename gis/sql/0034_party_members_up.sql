-- The party-organisation chain made right, and the member register (issue 22; docs/party-building.md).
-- The vocabulary's owner is gis/party/vocabulary.py; the keys below repeat it (a test compares).

-- 1. A town (镇/乡) has a 镇党委, not a 党工委.
ALTER TABLE party_org DROP CONSTRAINT party_org_type_fits_level;
UPDATE party_org o SET org_type = '党委'
  FROM area a WHERE a.id = o.area_id AND o.level = 'street' AND a.kind IN ('镇', '乡');

-- 2. A 党支部 is the basic unit: a community organisation with branches under it is at least a
--    党总支 (总支部委员会).
UPDATE party_org o SET org_type = '党总支', name = replace(o.name, '支部委员会', '总支部委员会')
 WHERE o.level = 'community' AND o.org_type = '党支部'
   AND EXISTS (SELECT 1 FROM party_org c WHERE c.parent_id = o.id AND c.org_type = '党支部');

-- 3. 党员中心户: a role of a member's household serving named neighbours, not an organisation.
CREATE TABLE party_central_household (
    id            bigserial PRIMARY KEY,
    code          text NOT NULL UNIQUE,
    household_id  bigint NOT NULL UNIQUE REFERENCES household (id) ON DELETE CASCADE,
    member_id     bigint NOT NULL UNIQUE REFERENCES party_member (id) ON DELETE CASCADE,
    named_on      date NOT NULL,
    district_code char(6) NOT NULL
);
CREATE TABLE party_central_household_served (
    central_household_id bigint NOT NULL REFERENCES party_central_household (id) ON DELETE CASCADE,
    -- A household is looked after by at most one central household.
    household_id         bigint NOT NULL UNIQUE REFERENCES household (id) ON DELETE CASCADE,
    since                date NOT NULL,
    PRIMARY KEY (central_household_id, household_id)
);

INSERT INTO party_central_household (code, household_id, member_id, named_on, district_code)
SELECT o.code, o.household_id, host.id, coalesce(o.founded_on, current_date), o.district_code
  FROM party_org o
  JOIN LATERAL (
      SELECT m.id FROM party_member m JOIN resident r ON r.id = m.resident_id
       WHERE r.household_id = o.household_id
       ORDER BY (m.org_id = o.id) DESC, m.id LIMIT 1
  ) host ON true
 WHERE o.level = 'household';

-- Members, groups' children and service orders of a central household join its parent.
UPDATE party_member m SET org_id = o.parent_id FROM party_org o
 WHERE o.id = m.org_id AND o.level = 'household';
UPDATE service_order s SET org_id = o.parent_id FROM party_org o
 WHERE o.id = s.org_id AND o.level = 'household';
UPDATE org_meeting x SET org_id = NULL WHERE org_id IN (SELECT id FROM party_org WHERE level = 'household');
DELETE FROM party_org WHERE level = 'household';

-- 4. A member belongs to exactly one 支部 (org_id) and optionally one of its 党小组 (group_id).
--    A member whose relation was transferred out of the register keeps his record with the
--    receiving organisation's name instead (external_org).
ALTER TABLE party_member
    ADD COLUMN group_id bigint REFERENCES party_org (id) ON DELETE SET NULL,
    ADD COLUMN external_org text CHECK (length(external_org) BETWEEN 1 AND 200),
    ADD COLUMN care_flags text[] NOT NULL DEFAULT '{}'
        CHECK (care_flags <@ ARRAY['hardship', 'veteran']::text[]),
    ALTER COLUMN org_id DROP NOT NULL,
    ADD CONSTRAINT party_member_one_relation CHECK ((org_id IS NULL) = (external_org IS NOT NULL)),
    ADD CONSTRAINT party_member_group_needs_branch CHECK (group_id IS NULL OR org_id IS NOT NULL);
CREATE INDEX party_member_group_idx ON party_member (group_id);

UPDATE party_member m SET group_id = o.id, org_id = o.parent_id FROM party_org o
 WHERE o.id = m.org_id AND o.org_type = '党小组';

-- Members attached to a community 党委/党总支 (grids without a branch, 党建空白点) join the
-- community's 直属党支部, created where needed.
INSERT INTO party_org (code, name, level, org_type, parent_id, area_id, founded_on, district_code, geom)
SELECT o.code || 'Z', a.name || '直属党支部', 'community', '党支部', o.id, o.area_id,
       o.founded_on, o.district_code, o.geom
  FROM party_org o JOIN area a ON a.id = o.area_id
 WHERE o.level = 'community' AND o.org_type IN ('党委', '党总支')
   AND EXISTS (SELECT 1 FROM party_member m WHERE m.org_id = o.id);
UPDATE party_member m SET org_id = z.id FROM party_org o JOIN party_org z ON z.code = o.code || 'Z'
 WHERE o.id = m.org_id AND o.org_type IN ('党委', '党总支', '党工委');

ALTER TABLE party_org
    DROP CONSTRAINT party_org_serves,
    ADD CONSTRAINT party_org_serves CHECK (
        (level IN ('street', 'community', 'grid') AND area_id IS NOT NULL) OR
        (level = 'building' AND building_id IS NOT NULL)),
    DROP CONSTRAINT party_org_level_check,
    ADD CONSTRAINT party_org_level_check CHECK (level IN ('street', 'community', 'grid', 'building')),
    DROP CONSTRAINT party_org_org_type_check,
    ADD CONSTRAINT party_org_org_type_check CHECK (org_type IN ('党工委', '党委', '党总支', '党支部', '党小组')),
    ADD CONSTRAINT party_org_type_fits_level CHECK (
        (level = 'street' AND org_type IN ('党工委', '党委')) OR
        (level = 'community' AND org_type IN ('党委', '党总支', '党支部')) OR
        (level = 'grid' AND org_type = '党支部') OR
        (level = 'building' AND org_type = '党小组'));

-- The chain's shape: a street committee's type follows its area (镇/乡 → 党委, else 党工委);
-- a 党小组 sits under a 党支部; a 党支部 has no 党支部 under it. Checked on every write.
CREATE FUNCTION party_org_check_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent party_org%ROWTYPE;
    area_kind text;
BEGIN
    IF NEW.level = 'street' THEN
        SELECT kind INTO area_kind FROM area WHERE id = NEW.area_id;
        IF (area_kind IN ('镇', '乡')) <> (NEW.org_type = '党委') THEN
            RAISE EXCEPTION 'party_org %: a street (街道) has a 党工委, a town (镇/乡) a 党委; % is a %',
                NEW.code, NEW.org_type, area_kind USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    SELECT * INTO parent FROM party_org WHERE id = NEW.parent_id;
    IF NEW.level = 'building' AND parent.org_type <> '党支部' THEN
        RAISE EXCEPTION 'party_org %: a 党小组 belongs to a 党支部, not a %', NEW.code, parent.org_type
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.level IN ('community', 'grid') AND NEW.org_type = '党支部' AND parent.org_type = '党支部' THEN
        RAISE EXCEPTION 'party_org %: a 党支部 cannot sit under another 党支部 (make % a 党总支)',
            NEW.code, parent.code USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER party_org_check_chain BEFORE INSERT OR UPDATE OF level, org_type, parent_id, area_id
    ON party_org FOR EACH ROW EXECUTE FUNCTION party_org_check_chain();

-- A member's org_id is a 党支部 and his group_id one of its 党小组. Deferred to the end of the
-- transaction: a boundary commit moves members and groups to a new branch in two statements.
CREATE FUNCTION party_member_check_relation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'party_member' THEN
        IF NEW.org_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM party_org WHERE id = NEW.org_id AND org_type = '党支部') THEN
            RAISE EXCEPTION 'party_member %: org_id must be a 党支部 (a member belongs to exactly one branch)',
                NEW.id USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.group_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM party_org WHERE id = NEW.group_id AND org_type = '党小组'
                   AND parent_id = NEW.org_id) THEN
            RAISE EXCEPTION 'party_member %: group_id must be a 党小组 of the member''s 党支部',
                NEW.id USING ERRCODE = 'check_violation';
        END IF;
    ELSIF EXISTS (
            SELECT 1 FROM party_member m
             WHERE (m.org_id = NEW.id AND NEW.org_type <> '党支部')
                OR (m.group_id = NEW.id AND NEW.parent_id IS DISTINCT FROM m.org_id)) THEN
        RAISE EXCEPTION 'party_org %: its members would no longer be in one 支部 and one of its 党小组',
            NEW.code USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER party_member_check_relation AFTER INSERT OR UPDATE OF org_id, group_id
    ON party_member DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION party_member_check_relation();
CREATE CONSTRAINT TRIGGER party_org_keeps_members AFTER UPDATE OF org_type, parent_id
    ON party_org DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION party_member_check_relation();

-- 5. 组织关系转接: the history of a member's organisation relation, append-only.
CREATE TABLE party_member_transfer (
    id              bigserial PRIMARY KEY,
    member_id       bigint NOT NULL REFERENCES party_member (id) ON DELETE CASCADE,
    direction       text NOT NULL CHECK (direction IN ('within', 'in', 'out')),
    from_org_id     bigint REFERENCES party_org (id) ON DELETE SET NULL,
    from_org_name   text NOT NULL CHECK (length(from_org_name) BETWEEN 1 AND 200),
    to_org_id       bigint REFERENCES party_org (id) ON DELETE SET NULL,
    to_org_name     text NOT NULL CHECK (length(to_org_name) BETWEEN 1 AND 200),
    reason          text NOT NULL CHECK (reason IN ('moved', 'work', 'study', 'retired', 'other')),
    letter_no       text CHECK (length(letter_no) BETWEEN 1 AND 60),
    transferred_on  date NOT NULL,
    recorded_by     text NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX party_member_transfer_member_idx ON party_member_transfer (member_id, id);

-- Append-only: rows go only with their member (a cascade from the person leaving the register),
-- and change only by a foreign key's ON DELETE SET NULL (an organisation dissolved by a boundary
-- merge: the row keeps the organisation's name).
CREATE FUNCTION party_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 AND NOT EXISTS (
        SELECT 1 FROM jsonb_each(to_jsonb(NEW)) n JOIN jsonb_each(to_jsonb(OLD)) o USING (key)
         WHERE n.value IS DISTINCT FROM o.value AND n.value <> 'null'::jsonb) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER party_member_transfer_append_only BEFORE UPDATE OR DELETE ON party_member_transfer
    FOR EACH ROW EXECUTE FUNCTION party_history_append_only();

-- 6. 流动党员: periods a member is away from home, where, and who looks after him there.
CREATE TABLE party_member_away (
    id            bigserial PRIMARY KEY,
    member_id     bigint NOT NULL REFERENCES party_member (id) ON DELETE CASCADE,
    since         date NOT NULL,
    until         date CHECK (until >= since),
    place         text NOT NULL CHECK (length(place) BETWEEN 1 AND 200),
    reason        text NOT NULL CHECK (reason IN ('work', 'business', 'study', 'other')),
    -- The organisation at the destination that looks after him (流入地党组织), if any.
    host_org      text CHECK (length(host_org) BETWEEN 1 AND 200),
    contact_note  text CHECK (length(contact_note) <= 500),
    recorded_by   text NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX party_member_away_one_open ON party_member_away (member_id) WHERE until IS NULL;

-- 7. 困难党员 / 老党员 care records.
CREATE TABLE party_care_record (
    id            bigserial PRIMARY KEY,
    member_id     bigint NOT NULL REFERENCES party_member (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('visit', 'festival', 'hardship_aid', 'health', 'birthday', 'other')),
    cared_on      date NOT NULL,
    note          text NOT NULL CHECK (length(note) BETWEEN 1 AND 500),
    amount_yuan   numeric(10, 2) CHECK (amount_yuan > 0 AND amount_yuan <= 100000),
    recorded_by   text NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX party_care_record_member_idx ON party_care_record (member_id, cared_on);
CREATE TRIGGER party_care_record_append_only BEFORE UPDATE OR DELETE ON party_care_record
    FOR EACH ROW EXECUTE FUNCTION party_history_append_only();

-- 8. 学习教育: a course catalogue and members' learning records with hours.
CREATE TABLE party_course (
    id            bigserial PRIMARY KEY,
    code          text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9-]{3,40}$'),
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    category      text NOT NULL CHECK (category IN ('theory', 'constitution', 'history', 'policy', 'skills')),
    hours         numeric(4, 1) NOT NULL CHECK (hours > 0 AND hours <= 40),
    published_on  date NOT NULL
);
CREATE TABLE party_learning_record (
    id            bigserial PRIMARY KEY,
    member_id     bigint NOT NULL REFERENCES party_member (id) ON DELETE CASCADE,
    course_id     bigint NOT NULL REFERENCES party_course (id) ON DELETE RESTRICT,
    finished_on   date NOT NULL,
    hours         numeric(4, 1) NOT NULL CHECK (hours > 0 AND hours <= 40),
    recorded_by   text NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (member_id, course_id)
);
CREATE INDEX party_learning_record_course_idx ON party_learning_record (course_id);

-- 9. A member's account acts as his own member record (and only as that).
ALTER TABLE app_user ADD COLUMN member_id bigint UNIQUE REFERENCES party_member (id) ON DELETE SET NULL;
UPDATE app_user u SET member_id = (
    SELECT m.id FROM party_member m JOIN resident r ON r.id = m.resident_id
      JOIN household h ON h.id = r.household_id JOIN building b ON b.id = h.building_id
      JOIN area g ON g.id = b.grid_id
     WHERE g.code LIKE u.scope_code || '%' AND m.org_id IS NOT NULL ORDER BY m.id LIMIT 1)
 WHERE u.username = 'demo_party_member';
