-- Serving residents (docs/residents.md): notices with read receipts, the catalogue of services
-- residents apply for at the community and their applications, volunteer teams and activities,
-- and the 爱心储蓄 points ledger. gis/residents/vocabulary.py owns the keys listed in the CHECKs
-- below (a test compares them).
--
-- Areas are referred to by their stable codes, not area ids: a boundary commit replaces area
-- rows (new versions, new ids) but keeps codes, and a notice sent to a grid stays sent to it.

-- Notices (居民通知) to an area (street, community or grid) or to a special group within it.
CREATE TABLE notice (
    id            bigserial PRIMARY KEY,
    title         text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 100),
    body          text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 5000),
    category      text NOT NULL CHECK (category IN ('general', 'activity', 'safety', 'policy',
                                                    'service')),
    area_code     text NOT NULL CHECK (area_code ~ '^[0-9]{12}([0-9]{3})?$'),
    -- Households with a resident of this group (gis/special_groups.py) within the area; NULL:
    -- every household of the area. A group notice is never on the public board.
    special_group text CHECK (special_group IN ('elderly_alone', 'empty_nest', 'hardship',
                                                'disabled', 'left_behind_child', 'veteran')),
    published_by  text NOT NULL,
    published_at  timestamptz NOT NULL DEFAULT now(),
    expires_on    date,
    withdrawn_at  timestamptz,
    withdrawn_by  text
);
CREATE INDEX notice_area_idx ON notice (area_code text_pattern_ops, published_at DESC);

-- A resident confirmed reading a notice (已读回执), once; ``via`` says how he was identified.
CREATE TABLE notice_receipt (
    notice_id   bigint NOT NULL REFERENCES notice (id) ON DELETE CASCADE,
    resident_id bigint NOT NULL REFERENCES resident (id) ON DELETE CASCADE,
    read_at     timestamptz NOT NULL DEFAULT now(),
    via         text NOT NULL CHECK (via IN ('link', 'account')),
    PRIMARY KEY (notice_id, resident_id)
);
CREATE INDEX notice_receipt_resident_idx ON notice_receipt (resident_id);

-- Services residents apply for at their community (事项办理): the catalogue.
CREATE TABLE resident_service (
    id           bigserial PRIMARY KEY,
    code         text NOT NULL UNIQUE CHECK (code ~ '^[a-z][a-z_]{1,39}$'),
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 50),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    materials    text[] NOT NULL DEFAULT '{}',
    -- Working days (gis/incidents/workcalendar.py) from the application to the deadline.
    working_days smallint NOT NULL CHECK (working_days BETWEEN 1 AND 60),
    active       boolean NOT NULL DEFAULT true
);
INSERT INTO resident_service (code, name, description, materials, working_days) VALUES
    ('residence_certificate', '居住证明开具', '证明申请人在本社区居住，用于入学、就业、办理证照等。',
     ARRAY['居民身份证', '户口簿或房产证明/租赁合同'], 3),
    ('senior_card', '老年人优待证办理', '年满60周岁的常住老年人申领，享受公共交通、景区等优待。',
     ARRAY['居民身份证', '近期一寸免冠照片1张'], 5),
    ('residence_registration', '居住登记（流动人口）', '来本地居住的流动人口办理居住登记，作为申领居住证的依据。',
     ARRAY['居民身份证', '房屋租赁合同或住所证明', '近期一寸免冠照片1张'], 5),
    ('hardship_certificate', '困难证明开具', '证明家庭经济困难，用于助学、医疗救助等申请。',
     ARRAY['居民身份证', '户口簿', '收入情况说明'], 5),
    ('disability_subsidy', '残疾人两项补贴申请', '困难残疾人生活补贴和重度残疾人护理补贴的申请受理。',
     ARRAY['居民身份证', '残疾人证', '户口簿', '银行卡'], 10),
    ('family_planning_service', '生育登记服务', '办理生育服务登记。',
     ARRAY['夫妻双方居民身份证', '结婚证'], 3);

CREATE TABLE service_application (
    id             bigserial PRIMARY KEY,
    service_id     bigint NOT NULL REFERENCES resident_service (id) ON DELETE RESTRICT,
    resident_id    bigint NOT NULL REFERENCES resident (id) ON DELETE CASCADE,
    -- The community that handles it and the grid the applicant lives in, by code (see top).
    community_code text NOT NULL CHECK (community_code ~ '^[0-9]{12}$'),
    grid_code      text NOT NULL CHECK (grid_code ~ '^[0-9]{15}$'),
    status         text NOT NULL DEFAULT 'submitted'
                   CHECK (status IN ('submitted', 'accepted', 'completed', 'rejected')),
    note           text NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
    submitted_at   timestamptz NOT NULL DEFAULT now(),
    due_at         timestamptz NOT NULL,
    closed_at      timestamptz,
    result         text NOT NULL DEFAULT '' CHECK (length(result) <= 1000),
    via            text NOT NULL CHECK (via IN ('link', 'account')),
    CHECK ((status IN ('completed', 'rejected')) = (closed_at IS NOT NULL))
);
CREATE INDEX service_application_community_idx ON service_application (community_code, status);
CREATE INDEX service_application_resident_idx ON service_application (resident_id);
-- One open application per resident and service: a second tap of 提交 is not a second case.
CREATE UNIQUE INDEX service_application_open_uq ON service_application (resident_id, service_id)
    WHERE status IN ('submitted', 'accepted');

-- Every step of an application (its status history), written with the step.
CREATE TABLE service_application_step (
    id             bigserial PRIMARY KEY,
    application_id bigint NOT NULL REFERENCES service_application (id) ON DELETE CASCADE,
    status         text NOT NULL,
    at             timestamptz NOT NULL DEFAULT now(),
    actor          text NOT NULL,
    note           text NOT NULL DEFAULT '' CHECK (length(note) <= 1000)
);
CREATE INDEX service_application_step_idx ON service_application_step (application_id, at);

-- Volunteers (志愿服务) and their points (爱心储蓄).
CREATE TABLE volunteer_team (
    id             bigserial PRIMARY KEY,
    community_code text NOT NULL CHECK (community_code ~ '^[0-9]{12}$'),
    name           text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 50),
    description    text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_code, name)
);

CREATE TABLE volunteer_activity (
    id             bigserial PRIMARY KEY,
    team_id        bigint NOT NULL REFERENCES volunteer_team (id) ON DELETE RESTRICT,
    community_code text NOT NULL CHECK (community_code ~ '^[0-9]{12}$'),
    title          text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 100),
    place          text NOT NULL CHECK (length(btrim(place)) BETWEEN 1 AND 100),
    description    text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    capacity       integer NOT NULL CHECK (capacity BETWEEN 1 AND 1000),
    -- Service hours credited to each volunteer who checked in, and the points they earn.
    hours          numeric(4, 1) NOT NULL CHECK (hours > 0 AND hours <= 24),
    points         integer NOT NULL CHECK (points BETWEEN 0 AND 1000),
    -- Shown on site by the organiser; a volunteer enters it on his phone to check in.
    checkin_code   text NOT NULL CHECK (checkin_code ~ '^[0-9]{6}$'),
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed',
                                                               'cancelled')),
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    completed_at   timestamptz,
    completed_by   text,
    CHECK (ends_at > starts_at),
    CHECK ((status = 'completed') = (completed_at IS NOT NULL))
);
CREATE INDEX volunteer_activity_community_idx ON volunteer_activity (community_code, starts_at);

CREATE TABLE activity_signup (
    activity_id   bigint NOT NULL REFERENCES volunteer_activity (id) ON DELETE CASCADE,
    resident_id   bigint NOT NULL REFERENCES resident (id) ON DELETE CASCADE,
    signed_up_at  timestamptz NOT NULL DEFAULT now(),
    checked_in_at timestamptz,
    via           text NOT NULL CHECK (via IN ('link', 'account')),
    PRIMARY KEY (activity_id, resident_id)
);
CREATE INDEX activity_signup_resident_idx ON activity_signup (resident_id);

-- What points buy at a community (goods or services).
CREATE TABLE points_reward (
    id             bigserial PRIMARY KEY,
    community_code text NOT NULL CHECK (community_code ~ '^[0-9]{12}$'),
    name           text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 50),
    description    text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    points         integer NOT NULL CHECK (points BETWEEN 1 AND 100000),
    -- NULL: no limit (a service); otherwise how many are left.
    stock          integer CHECK (stock >= 0),
    active         boolean NOT NULL DEFAULT true,
    UNIQUE (community_code, name)
);

-- The points ledger: append-only like audit_log (gis/privileges.py grants INSERT and SELECT
-- only; triggers refuse UPDATE, DELETE and TRUNCATE for everyone). A balance is never stored
-- apart from the ledger: each row carries the balance after it, computed by the trigger below
-- under a per-resident lock, and a CHECK keeps it from going below zero — so no redemption can
-- overdraw, whatever the application does. No foreign keys: the record outlives the resident,
-- the activity and the reward it names (like the audit log, it is history).
CREATE TABLE points_ledger (
    id             bigserial PRIMARY KEY,
    resident_id    bigint NOT NULL,
    community_code text NOT NULL CHECK (community_code ~ '^[0-9]{12}$'),
    kind           text NOT NULL CHECK (kind IN ('earn', 'redeem', 'adjust')),
    delta          integer NOT NULL CHECK (delta <> 0),
    hours          numeric(5, 1) NOT NULL DEFAULT 0 CHECK (hours >= 0),
    activity_id    bigint,
    reward_id      bigint,
    balance_after  integer NOT NULL CHECK (balance_after >= 0),
    note           text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    recorded_by    text NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'earn' OR (delta > 0 AND activity_id IS NOT NULL)),
    CHECK (kind <> 'redeem' OR (delta < 0 AND reward_id IS NOT NULL AND hours = 0))
);
CREATE INDEX points_ledger_resident_idx ON points_ledger (resident_id, id);
CREATE INDEX points_ledger_community_idx ON points_ledger (community_code, resident_id);
-- An activity credits each volunteer once.
CREATE UNIQUE INDEX points_ledger_earn_uq ON points_ledger (activity_id, resident_id)
    WHERE kind = 'earn';

CREATE FUNCTION points_ledger_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- One writer per resident at a time, held to the end of the transaction: the next insert
    -- for him waits, then sees this row (READ COMMITTED takes a new snapshot per statement).
    PERFORM pg_advisory_xact_lock(hashtext('points_ledger'), (NEW.resident_id % 2147483647)::integer);
    NEW.balance_after := coalesce((SELECT l.balance_after FROM points_ledger l
                                    WHERE l.resident_id = NEW.resident_id
                                    ORDER BY l.id DESC LIMIT 1), 0) + NEW.delta;
    RETURN NEW;
END $$;
CREATE TRIGGER points_ledger_balance BEFORE INSERT ON points_ledger
    FOR EACH ROW EXECUTE FUNCTION points_ledger_balance();

CREATE FUNCTION points_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'points_ledger is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER points_ledger_no_update BEFORE UPDATE OR DELETE ON points_ledger
    FOR EACH ROW EXECUTE FUNCTION points_ledger_append_only();
CREATE TRIGGER points_ledger_no_truncate BEFORE TRUNCATE ON points_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION points_ledger_append_only();
