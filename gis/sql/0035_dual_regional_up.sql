-- 双报到 and regional party building (区域化党建), issue 22. gis/regional/vocabulary.py owns the
-- kinds and categories listed in the CHECKs below; a test compares them.
--
-- Units outside the five-level chain (单位): 机关、事业单位、国有企业 (the 机关企事业单位 whose party
-- organisations report to communities, 双报到), 两新组织 (非公企业, 社会组织), 商圈党委, 物业企业
-- (红色物业 when it has a party organisation) and 业委会. 驻区单位 = ``resident``: a unit standing in
-- the community and a member unit of its 大党委. A unit with a 共建协议 is a 共建单位.
CREATE TABLE regional_unit (
    id                       bigserial PRIMARY KEY,
    code                     text NOT NULL UNIQUE CHECK (code ~ '^DW[0-9]{6,24}$'),
    name                     text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    kind                     text NOT NULL CHECK (kind IN ('机关', '事业单位', '国有企业', '非公企业',
                                                           '社会组织', '商圈党委', '物业企业', '业委会')),
    party_org_name           text CHECK (length(party_org_name) BETWEEN 1 AND 100),
    party_members            integer NOT NULL DEFAULT 0 CHECK (party_members BETWEEN 0 AND 100000),
    resident                 boolean NOT NULL DEFAULT false,
    community_id             bigint NOT NULL REFERENCES area (id) ON DELETE RESTRICT,
    address                  text NOT NULL CHECK (length(address) BETWEEN 1 AND 200),
    -- 双报到: the unit's party organisation reports to (is paired with) a community.
    registered_community_id  bigint REFERENCES area (id) ON DELETE SET NULL,
    registered_on            date,
    district_code            char(6) NOT NULL,
    geom                     geometry(Point, 4326) NOT NULL,
    CONSTRAINT regional_unit_registration CHECK ((registered_community_id IS NULL) = (registered_on IS NULL)),
    -- Only a unit with a party organisation can report to a community.
    CONSTRAINT regional_unit_registers_party CHECK (registered_community_id IS NULL OR party_org_name IS NOT NULL),
    CONSTRAINT regional_unit_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))
);
CREATE INDEX regional_unit_community_idx ON regional_unit (community_id);
CREATE INDEX regional_unit_registered_idx ON regional_unit (registered_community_id);
CREATE INDEX regional_unit_geom_gist ON regional_unit USING gist (geom);

-- 红色物业 / 业委会 serve residential buildings. The city has no compound (小区) table: a compound
-- is the set of buildings its property company or owners' committee serves (docs/party-building.md).
CREATE TABLE regional_unit_building (
    unit_id      bigint NOT NULL REFERENCES regional_unit (id) ON DELETE CASCADE,
    building_id  bigint NOT NULL REFERENCES building (id) ON DELETE CASCADE,
    PRIMARY KEY (unit_id, building_id)
);
CREATE INDEX regional_unit_building_building_idx ON regional_unit_building (building_id);

-- 共建协议: a unit and a community agree to build together for a term.
CREATE TABLE joint_agreement (
    id            bigserial PRIMARY KEY,
    code          text NOT NULL UNIQUE CHECK (code ~ '^GJ[0-9]{4}-[0-9]{3,10}$'),
    unit_id       bigint NOT NULL REFERENCES regional_unit (id) ON DELETE CASCADE,
    community_id  bigint NOT NULL REFERENCES area (id) ON DELETE RESTRICT,
    signed_on     date NOT NULL,
    starts_on     date NOT NULL,
    ends_on       date NOT NULL,
    content       text NOT NULL CHECK (length(btrim(content)) BETWEEN 1 AND 2000),
    signed_by     text NOT NULL,
    district_code char(6) NOT NULL,
    CONSTRAINT joint_agreement_term CHECK (ends_on > starts_on)
);
CREATE INDEX joint_agreement_unit_idx ON joint_agreement (unit_id);
CREATE INDEX joint_agreement_community_idx ON joint_agreement (community_id, ends_on);

-- 资源清单 (一库): what a unit offers, under an agreement or in general.
CREATE TABLE regional_resource (
    id            bigserial PRIMARY KEY,
    unit_id       bigint NOT NULL REFERENCES regional_unit (id) ON DELETE CASCADE,
    agreement_id  bigint REFERENCES joint_agreement (id) ON DELETE CASCADE,
    category      text NOT NULL CHECK (category IN ('场地', '人才', '资金', '物资', '技术', '志愿服务')),
    description   text NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 500)
);
CREATE INDEX regional_resource_unit_idx ON regional_resource (unit_id);
CREATE INDEX regional_resource_agreement_idx ON regional_resource (agreement_id);

-- 大党委 (a community's) / 大工委 (a street's): part-time members (兼职委员) from resident units.
CREATE TABLE regional_committee_seat (
    id          bigserial PRIMARY KEY,
    org_id      bigint NOT NULL REFERENCES party_org (id) ON DELETE CASCADE,
    unit_id     bigint NOT NULL REFERENCES regional_unit (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    post        text NOT NULL CHECK (post IN ('兼职副书记', '兼职委员')),
    term_start  date NOT NULL,
    term_end    date NOT NULL,
    CONSTRAINT regional_committee_seat_term CHECK (term_end > term_start),
    UNIQUE (org_id, unit_id)
);
CREATE INDEX regional_committee_seat_unit_idx ON regional_committee_seat (unit_id);

-- 双报到 needs and posts and 华亭's "一单一库一函一评一表" run on service orders: a community's
-- need (需求) or post (岗位) is a service order it publishes itself; a member claims it, or the
-- community assigns it to a unit by letter (函) and it becomes a project (项目); completion records
-- the hours; the rating (评) has the residents' stars and the community's.
ALTER TABLE service_order
    ADD COLUMN origin text NOT NULL DEFAULT 'resident' CHECK (origin IN ('resident', 'need', 'post')),
    ADD COLUMN title text CHECK (length(btrim(title)) BETWEEN 1 AND 100),
    ADD COLUMN unit_id bigint REFERENCES regional_unit (id) ON DELETE RESTRICT,
    ADD COLUMN agreement_id bigint REFERENCES joint_agreement (id) ON DELETE SET NULL,
    ADD COLUMN letter_code text UNIQUE CHECK (letter_code ~ '^HZ[0-9]{4}-[0-9]{3,10}$'),
    ADD COLUMN hours numeric(5, 1) CHECK (hours > 0 AND hours <= 999),
    ADD COLUMN community_rating smallint CHECK (community_rating BETWEEN 1 AND 5),
    ADD COLUMN community_comment text CHECK (length(community_comment) <= 500);
ALTER TABLE service_order DROP CONSTRAINT service_order_claimed_has_member;
ALTER TABLE service_order
    ADD CONSTRAINT service_order_claimed_has_doer CHECK (
        status IN ('ordered', 'published', 'cancelled') OR member_id IS NOT NULL OR unit_id IS NOT NULL),
    ADD CONSTRAINT service_order_one_doer CHECK (member_id IS NULL OR unit_id IS NULL),
    ADD CONSTRAINT service_order_letter_for_unit CHECK ((letter_code IS NULL) OR (unit_id IS NOT NULL)),
    ADD CONSTRAINT service_order_need_titled CHECK ((origin = 'resident') OR (title IS NOT NULL)),
    ADD CONSTRAINT service_order_need_hours CHECK (
        origin = 'resident' OR status NOT IN ('done', 'rated') OR hours IS NOT NULL),
    ADD CONSTRAINT service_order_need_rated CHECK (
        origin = 'resident' OR (status = 'rated') = (community_rating IS NOT NULL));
CREATE INDEX service_order_unit_idx ON service_order (unit_id, rated_at);
CREATE INDEX party_member_registered_idx ON party_member (registered_community_id);
