-- Incidents: deadlines on a working-day calendar, escalation, duplicates, idempotent intake, an
-- event log for the live stream, and service orders (群众点单、组织派单、党员接单).

-- Where a case stands besides its status: why it was refused, who it was sent to, how far up it
-- has been escalated, and the Open311 fields a resident's app sent.
ALTER TABLE incident
    ADD COLUMN resolution       text CHECK (resolution IN ('duplicate', 'not_responsible', 'invalid')),
    ADD COLUMN dispatched_to    text CHECK (length(dispatched_to) BETWEEN 1 AND 200),
    ADD COLUMN escalation_level text NOT NULL DEFAULT 'grid'
                                CHECK (escalation_level IN ('grid', 'community', 'street', 'district')),
    ADD COLUMN escalated_at     timestamptz,
    ADD COLUMN reporter_email   text CHECK (length(reporter_email) <= 254),
    ADD COLUMN device_id        text CHECK (length(device_id) <= 200),
    ADD COLUMN account_id       text CHECK (length(account_id) <= 200),
    ADD COLUMN media_url        text CHECK (media_url ~ '^https?://'),
    ADD COLUMN attributes       jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(attributes) = 'object'),
    ADD COLUMN token            uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE incident ADD CONSTRAINT incident_rejected_has_resolution
    CHECK (resolution IS NULL OR status = 'rejected');
CREATE UNIQUE INDEX incident_token_uq ON incident (token);
-- The unassigned queue of the command centre, and "open and late" for escalation.
CREATE INDEX incident_unassigned_idx ON incident (reported_at) WHERE grid_id IS NULL;
CREATE INDEX incident_open_due_idx ON incident (due_at)
    WHERE status IN ('reported', 'registered', 'dispatched', 'in_progress');
CREATE INDEX incident_category_time_idx ON incident (category, reported_at);
CREATE INDEX incident_assignee_idx ON incident (assignee_id);

-- Time limits per category (configurable: edit the rows). Minutes to accept and register, to
-- dispatch, hours to handle; `calendar_time` means the clock runs on weekends and holidays too
-- (emergencies), otherwise only working days count. `escalate_every_hours`: while a case stays
-- overdue it climbs one more level after this long.
CREATE TABLE incident_deadline_rule (
    category              text PRIMARY KEY,
    kind                  text NOT NULL CHECK (kind IN ('event', 'component', 'service')),
    accept_minutes        integer NOT NULL DEFAULT 60 CHECK (accept_minutes > 0),
    dispatch_minutes      integer NOT NULL DEFAULT 60 CHECK (dispatch_minutes > 0),
    handle_hours          integer NOT NULL CHECK (handle_hours > 0),
    calendar_time         boolean NOT NULL DEFAULT false,
    escalate_every_hours  integer NOT NULL DEFAULT 24 CHECK (escalate_every_hours > 0)
);
INSERT INTO incident_deadline_rule (category, kind, handle_hours, calendar_time) VALUES
    ('市容环境', 'event', 48, false),
    ('街面秩序', 'event', 24, false),
    ('宣传广告', 'event', 72, false),
    ('施工管理', 'event', 120, false),
    ('突发事件', 'event', 4, true),
    ('其他', 'event', 72, false),
    ('公用设施', 'component', 72, false),
    ('交通设施', 'component', 72, false),
    ('市容环境设施', 'component', 48, false),
    ('园林绿化设施', 'component', 96, false),
    ('其他设施', 'component', 120, false),
    -- 群众点单: a service order must be done within 3 working days.
    ('服务订单', 'service', 72, false);

-- Public holidays (is_workday = false) and the weekend days worked in exchange (调休,
-- is_workday = true). Weekends are non-working unless listed here as workdays.
CREATE TABLE holiday (
    day         date PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    is_workday  boolean NOT NULL DEFAULT false
);

-- A report linked to the open case it duplicates (instead of opening a second case).
CREATE TABLE incident_duplicate (
    incident_id   bigint PRIMARY KEY REFERENCES incident (id) ON DELETE CASCADE,
    duplicate_of  bigint NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
    linked_at     timestamptz NOT NULL DEFAULT now(),
    linked_by     text NOT NULL,
    CONSTRAINT incident_duplicate_not_self CHECK (incident_id <> duplicate_of)
);
CREATE INDEX incident_duplicate_of_idx ON incident_duplicate (duplicate_of);

-- Idempotency-Key of a create request: a retry with the same key returns the first result.
-- The fingerprint is a hash of the request body, so reusing a key for another body is refused.
CREATE TABLE idempotency_key (
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    endpoint     text NOT NULL,
    fingerprint  text NOT NULL,
    incident_id  bigint REFERENCES incident (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (endpoint, key)
);
CREATE INDEX idempotency_key_created_idx ON idempotency_key (created_at);

-- Escalations of overdue cases, one level up each (grid → community → street → district).
CREATE TABLE incident_escalation (
    id           bigserial PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL DEFAULT now(),
    from_level   text NOT NULL CHECK (from_level IN ('grid', 'community', 'street', 'district')),
    to_level     text NOT NULL CHECK (to_level IN ('community', 'street', 'district')),
    area_id      bigint REFERENCES area (id) ON DELETE RESTRICT,
    due_at       timestamptz NOT NULL
);
CREATE INDEX incident_escalation_incident_idx ON incident_escalation (incident_id, at);

-- The change log the live stream (SSE) replays. Ids are handed out under a transaction-level
-- advisory lock held until commit, so they become visible in increasing order and a client
-- resuming after Last-Event-ID never skips one.
CREATE TABLE incident_event (
    id           bigserial PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL DEFAULT now(),
    kind         text NOT NULL CHECK (kind IN ('created', 'transition', 'escalated', 'linked', 'updated')),
    status       text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX incident_event_incident_idx ON incident_event (incident_id);

-- 群众点单、组织派单、党员接单: a resident orders a service, the community party organisation
-- publishes it, a party member claims and does it, the resident rates the member.
CREATE TABLE service_order (
    id             bigserial PRIMARY KEY,
    code           text NOT NULL UNIQUE,
    service_type   text NOT NULL CHECK (service_type IN ('养老照护', '维修', '代办', '助学', '心理疏导', '其他')),
    description    text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
    requester_name  text NOT NULL CHECK (length(requester_name) BETWEEN 1 AND 50),
    requester_phone text CHECK (requester_phone ~ '^1[3-9][0-9]{9}$'),
    community_id   bigint NOT NULL REFERENCES area (id) ON DELETE RESTRICT,
    org_id         bigint REFERENCES party_org (id) ON DELETE RESTRICT,
    member_id      bigint REFERENCES party_member (id) ON DELETE RESTRICT,
    status         text NOT NULL DEFAULT 'ordered' CHECK (status IN (
                       'ordered', 'published', 'claimed', 'done', 'rated', 'cancelled')),
    geom           geometry(Point, 4326),
    district_code  char(6) NOT NULL,
    ordered_at     timestamptz NOT NULL DEFAULT now(),
    published_at   timestamptz,
    claimed_at     timestamptz,
    due_at         timestamptz,
    done_at        timestamptz,
    rated_at       timestamptz,
    rating         smallint CHECK (rating BETWEEN 1 AND 5),
    comment        text CHECK (length(comment) <= 500),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT service_order_claimed_has_member CHECK (
        status IN ('ordered', 'published', 'cancelled') OR member_id IS NOT NULL),
    CONSTRAINT service_order_rated_has_rating CHECK ((status = 'rated') = (rating IS NOT NULL))
);
CREATE INDEX service_order_community_idx ON service_order (community_id, status);
CREATE INDEX service_order_member_idx ON service_order (member_id, rated_at);
CREATE INDEX service_order_geom_gist ON service_order USING gist (geom);

CREATE TABLE service_order_transition (
    id                bigserial PRIMARY KEY,
    service_order_id  bigint NOT NULL REFERENCES service_order (id) ON DELETE CASCADE,
    at                timestamptz NOT NULL DEFAULT now(),
    actor             text NOT NULL,
    from_status       text,
    to_status         text NOT NULL,
    note              text
);
CREATE INDEX service_order_transition_order_idx ON service_order_transition (service_order_id, at);
