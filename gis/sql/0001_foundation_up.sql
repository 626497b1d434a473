-- gridgov foundation schema. All geometry is EPSG:4326 (lon/lat); every layer has a GiST index.
-- Constraints live here, in the database, so that no writer (API, importer, psql) can break them.

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- People who hold a post: grid chiefs, grid workers, party-building instructors, secretaries.
-- Personal data: masked on output unless a role needs it within its own area.
CREATE TABLE person (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    gender        text CHECK (gender IN ('男', '女')),
    phone         text CHECK (phone ~ '^1[3-9][0-9]{9}$'),
    id_number     text CHECK (id_number ~ '^[0-9]{17}[0-9X]$'),
    title         text,
    district_code char(6) NOT NULL CHECK (district_code ~ '^[0-9]{6}$')
);

-- The administrative and management hierarchy in one table: district ⊃ street ⊃ community ⊃ grid.
-- Each row is one version of an area; the current version has valid_to IS NULL.
CREATE TABLE area (
    id            bigserial PRIMARY KEY,
    level         text NOT NULL CHECK (level IN ('district', 'street', 'community', 'grid')),
    code          text NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind          text NOT NULL,
    parent_id     bigint REFERENCES area (id) ON DELETE RESTRICT,
    district_code char(6) NOT NULL,
    geom          geometry(MultiPolygon, 4326) NOT NULL,
    version       integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    valid_from    timestamptz NOT NULL DEFAULT now(),
    valid_to      timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT area_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CONSTRAINT area_validity_period CHECK (valid_to IS NULL OR valid_to > valid_from),
    CONSTRAINT area_code_format CHECK (
        (level = 'district'  AND code ~ '^[0-9]{6}$') OR
        (level = 'street'    AND code ~ '^[0-9]{9}000$') OR
        (level = 'community' AND code ~ '^[0-9]{12}$' AND right(code, 3) <> '000') OR
        (level = 'grid'      AND code ~ '^[0-9]{15}$')
    ),
    CONSTRAINT area_district_code CHECK (district_code = left(code, 6)),
    CONSTRAINT area_parent_required CHECK ((level = 'district') = (parent_id IS NULL)),
    CONSTRAINT area_kind CHECK (
        (level = 'district'  AND kind IN ('区', '县', '县级市', '市')) OR
        (level = 'street'    AND kind IN ('街道', '镇', '乡')) OR
        (level = 'community' AND kind IN ('社区', '村')) OR
        (level = 'grid'      AND kind IN ('综合网格', '专属网格'))
    )
);
CREATE UNIQUE INDEX area_code_current_uq ON area (code) WHERE valid_to IS NULL;
CREATE INDEX area_code_idx ON area (code, valid_from);
CREATE INDEX area_parent_idx ON area (parent_id);
CREATE INDEX area_level_idx ON area (level) WHERE valid_to IS NULL;
CREATE INDEX area_geom_gist ON area USING gist (geom);
CREATE INDEX area_name_trgm ON area USING gin (name gin_trgm_ops);

-- A child's code must extend its parent's, and levels must nest one step at a time.
CREATE FUNCTION area_check_parent() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p_level text;
    p_code  text;
BEGIN
    IF NEW.parent_id IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT level, code INTO p_level, p_code FROM area WHERE id = NEW.parent_id;
    IF NEW.level = 'street' AND (p_level <> 'district' OR left(NEW.code, 6) <> p_code) THEN
        RAISE EXCEPTION 'street % must lie under a district whose code it extends (parent %)', NEW.code, p_code
            USING ERRCODE = 'check_violation';
    ELSIF NEW.level = 'community' AND (p_level <> 'street' OR left(NEW.code, 9) <> left(p_code, 9)) THEN
        RAISE EXCEPTION 'community % must lie under a street whose code it extends (parent %)', NEW.code, p_code
            USING ERRCODE = 'check_violation';
    ELSIF NEW.level = 'grid' AND (p_level <> 'community' OR left(NEW.code, 12) <> p_code) THEN
        RAISE EXCEPTION 'grid % must lie under a community whose code it extends (parent %)', NEW.code, p_code
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER area_check_parent BEFORE INSERT OR UPDATE OF parent_id, code, level ON area
    FOR EACH ROW EXECUTE FUNCTION area_check_parent();

-- 一长两员: the grid chief, grid workers and the party-building instructor of a grid.
CREATE TABLE grid_staff (
    area_id   bigint NOT NULL REFERENCES area (id) ON DELETE CASCADE,
    person_id bigint NOT NULL REFERENCES person (id) ON DELETE RESTRICT,
    role      text NOT NULL CHECK (role IN ('chief', 'worker', 'instructor')),
    PRIMARY KEY (area_id, person_id, role)
);
CREATE UNIQUE INDEX grid_staff_one_chief ON grid_staff (area_id) WHERE role = 'chief';
CREATE INDEX grid_staff_person_idx ON grid_staff (person_id);

-- Buildings (楼栋). Codes are stable across grid redraws, so they do not embed the grid code;
-- the grid a building belongs to is the one containing its point on surface.
CREATE TABLE building (
    id            bigserial PRIMARY KEY,
    code          text NOT NULL CHECK (code ~ '^[0-9]{6}B[0-9]{7}$'),
    name          text NOT NULL,
    address       text NOT NULL,
    use           text NOT NULL CHECK (use IN ('住宅', '商业', '办公', '公共服务', '工业', '混合')),
    floors        smallint NOT NULL CHECK (floors BETWEEN 1 AND 200),
    units         smallint NOT NULL DEFAULT 1 CHECK (units BETWEEN 1 AND 50),
    grid_id       bigint NOT NULL REFERENCES area (id) ON DELETE RESTRICT,
    district_code char(6) NOT NULL CHECK (district_code = left(code, 6)),
    geom          geometry(MultiPolygon, 4326) NOT NULL,
    anchor        geometry(Point, 4326) GENERATED ALWAYS AS (ST_PointOnSurface(geom)) STORED,
    valid_from    timestamptz NOT NULL DEFAULT now(),
    valid_to      timestamptz,
    CONSTRAINT building_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CONSTRAINT building_validity_period CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX building_code_current_uq ON building (code) WHERE valid_to IS NULL;
CREATE INDEX building_grid_idx ON building (grid_id);
CREATE INDEX building_geom_gist ON building USING gist (geom);
CREATE INDEX building_anchor_gist ON building USING gist (anchor);
CREATE INDEX building_name_trgm ON building USING gin ((name || ' ' || address) gin_trgm_ops);

-- Households (户) and their residents: personal data.
CREATE TABLE household (
    id            bigserial PRIMARY KEY,
    code          text NOT NULL UNIQUE,
    building_id   bigint NOT NULL REFERENCES building (id) ON DELETE RESTRICT,
    unit          smallint NOT NULL CHECK (unit >= 1),
    floor         smallint NOT NULL CHECK (floor BETWEEN -5 AND 200),
    room          text NOT NULL,
    address       text NOT NULL,
    district_code char(6) NOT NULL,
    UNIQUE (building_id, unit, room)
);
CREATE INDEX household_building_idx ON household (building_id);

CREATE TABLE resident (
    id            bigserial PRIMARY KEY,
    household_id  bigint NOT NULL REFERENCES household (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    gender        text NOT NULL CHECK (gender IN ('男', '女')),
    birth_year    smallint NOT NULL CHECK (birth_year BETWEEN 1880 AND 2100),
    id_number     text CHECK (id_number ~ '^[0-9]{17}[0-9X]$'),
    phone         text CHECK (phone ~ '^1[3-9][0-9]{9}$'),
    relation      text NOT NULL CHECK (relation IN ('户主', '配偶', '子女', '父母', '孙子女', '兄弟姐妹', '其他')),
    district_code char(6) NOT NULL
);
CREATE UNIQUE INDEX resident_id_number_uq ON resident (id_number) WHERE id_number IS NOT NULL;
CREATE INDEX resident_household_idx ON resident (household_id);

-- Party organisations, five levels deep, following the area tree.
CREATE TABLE party_org (
    id            bigserial PRIMARY KEY,
    code          text NOT NULL UNIQUE,
    name          text NOT NULL,
    level         text NOT NULL CHECK (level IN ('street', 'community', 'grid', 'building', 'household')),
    org_type      text NOT NULL CHECK (org_type IN ('党工委', '党委', '党总支', '党支部', '党小组', '党员中心户')),
    parent_id     bigint REFERENCES party_org (id) ON DELETE RESTRICT,
    area_id       bigint REFERENCES area (id) ON DELETE RESTRICT,
    building_id   bigint REFERENCES building (id) ON DELETE RESTRICT,
    household_id  bigint REFERENCES household (id) ON DELETE RESTRICT,
    secretary_id  bigint REFERENCES person (id) ON DELETE SET NULL,
    founded_on    date,
    district_code char(6) NOT NULL,
    geom          geometry(Point, 4326) NOT NULL,
    CONSTRAINT party_org_parent_required CHECK ((level = 'street') = (parent_id IS NULL)),
    CONSTRAINT party_org_serves CHECK (
        (level IN ('street', 'community', 'grid') AND area_id IS NOT NULL) OR
        (level = 'building' AND building_id IS NOT NULL) OR
        (level = 'household' AND household_id IS NOT NULL)
    ),
    CONSTRAINT party_org_type_fits_level CHECK (
        (level = 'street' AND org_type = '党工委') OR
        (level = 'community' AND org_type IN ('党委', '党总支', '党支部')) OR
        (level = 'grid' AND org_type = '党支部') OR
        (level = 'building' AND org_type = '党小组') OR
        (level = 'household' AND org_type = '党员中心户')
    )
);
CREATE INDEX party_org_parent_idx ON party_org (parent_id);
CREATE INDEX party_org_area_idx ON party_org (area_id);
CREATE INDEX party_org_building_idx ON party_org (building_id);
CREATE INDEX party_org_geom_gist ON party_org USING gist (geom);
CREATE INDEX party_org_name_trgm ON party_org USING gin (name gin_trgm_ops);

CREATE TABLE party_member (
    id                       bigserial PRIMARY KEY,
    resident_id              bigint NOT NULL UNIQUE REFERENCES resident (id) ON DELETE CASCADE,
    org_id                   bigint NOT NULL REFERENCES party_org (id) ON DELETE RESTRICT,
    joined_on                date NOT NULL,
    status                   text NOT NULL DEFAULT '正式党员' CHECK (status IN ('正式党员', '预备党员')),
    in_service               boolean NOT NULL DEFAULT false,
    work_unit                text,
    -- 双报到: an in-service member registers with the community where he lives.
    registered_community_id  bigint REFERENCES area (id) ON DELETE SET NULL,
    registered_on            date,
    district_code            char(6) NOT NULL,
    CONSTRAINT party_member_registration CHECK ((registered_community_id IS NULL) = (registered_on IS NULL))
);
CREATE INDEX party_member_org_idx ON party_member (org_id);

-- Service facilities: 党群服务中心, 新时代文明实践站, 便民服务站 ...
CREATE TABLE service_facility (
    id            bigserial PRIMARY KEY,
    code          text NOT NULL UNIQUE,
    name          text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('党群服务中心', '新时代文明实践站', '便民服务站', '党员活动室', '卫生服务站', '日间照料中心')),
    area_id       bigint NOT NULL REFERENCES area (id) ON DELETE RESTRICT,
    address       text NOT NULL,
    opening_hours text NOT NULL,
    phone         text,
    district_code char(6) NOT NULL,
    geom          geometry(Point, 4326) NOT NULL
);
CREATE INDEX service_facility_geom_gist ON service_facility USING gist (geom);
CREATE INDEX service_facility_name_trgm ON service_facility USING gin ((name || ' ' || address) gin_trgm_ops);

-- Incidents (事件/案卷) of the digital urban-management case loop.
CREATE TABLE incident (
    id             bigserial PRIMARY KEY,
    code           text NOT NULL UNIQUE,
    kind           text NOT NULL CHECK (kind IN ('event', 'component')),
    category       text NOT NULL,
    description    text NOT NULL CHECK (length(description) BETWEEN 1 AND 4000),
    source         text NOT NULL CHECK (source IN ('grid_worker', 'hotline', 'public', 'open311', 'patrol', 'import')),
    reporter_name  text,
    reporter_phone text,
    status         text NOT NULL DEFAULT 'reported' CHECK (status IN (
                       'reported', 'registered', 'rejected', 'dispatched', 'in_progress',
                       'handled', 'closed', 'evaluated')),
    geom           geometry(Point, 4326) NOT NULL,
    address        text,
    street_id      bigint REFERENCES area (id) ON DELETE RESTRICT,
    community_id   bigint REFERENCES area (id) ON DELETE RESTRICT,
    grid_id        bigint REFERENCES area (id) ON DELETE RESTRICT,
    district_code  char(6) NOT NULL,
    assignee_id    bigint REFERENCES person (id) ON DELETE SET NULL,
    rework_count   smallint NOT NULL DEFAULT 0 CHECK (rework_count >= 0),
    rating         smallint CHECK (rating BETWEEN 1 AND 5),
    reported_at    timestamptz NOT NULL DEFAULT now(),
    due_at         timestamptz,
    closed_at      timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT incident_category_fits_kind CHECK (
        (kind = 'event' AND category IN ('市容环境', '宣传广告', '施工管理', '街面秩序', '突发事件', '其他')) OR
        (kind = 'component' AND category IN ('公用设施', '交通设施', '市容环境设施', '园林绿化设施', '其他设施'))
    ),
    CONSTRAINT incident_point_in_range CHECK (ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90),
    CONSTRAINT incident_closed_at CHECK ((closed_at IS NOT NULL) = (status IN ('closed', 'evaluated')))
);
CREATE INDEX incident_geom_gist ON incident USING gist (geom);
CREATE INDEX incident_grid_idx ON incident (grid_id);
CREATE INDEX incident_status_idx ON incident (status, due_at);
CREATE INDEX incident_reported_at_idx ON incident (reported_at);

-- One row per state change: who, when, from, to, note, attachments.
CREATE TABLE incident_transition (
    id           bigserial PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    from_status  text,
    to_status    text NOT NULL,
    note         text,
    attachments  jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(attachments) = 'array')
);
CREATE INDEX incident_transition_incident_idx ON incident_transition (incident_id, at);

-- Accounts: a role and an area scope (the subtree of that area is what the account sees).
CREATE TABLE app_user (
    id             bigserial PRIMARY KEY,
    username       text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.-]{3,64}$'),
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN (
                       'admin', 'district_secretary', 'street_secretary', 'community_secretary',
                       'grid_chief', 'grid_worker', 'party_instructor', 'command_operator',
                       'planner', 'party_member')),
    scope_code     text NOT NULL CHECK (scope_code ~ '^[0-9]{6}([0-9]{6}([0-9]{3})?)?$'),
    person_id      bigint REFERENCES person (id) ON DELETE SET NULL,
    is_active      boolean NOT NULL DEFAULT true,
    is_demo        boolean NOT NULL DEFAULT false,
    failed_logins  integer NOT NULL DEFAULT 0,
    locked_until   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Demo loads are recorded so `gridgov demo` never loads the same city twice.
CREATE TABLE dataset_load (
    name        text PRIMARY KEY,
    params      jsonb NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    summary     jsonb NOT NULL DEFAULT '{}'::jsonb
);
