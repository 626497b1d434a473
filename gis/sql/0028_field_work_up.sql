-- Patrols and household visits (docs/field-work.md). A patrol's track is a table of points
-- (time, accuracy, the client's own id for idempotent retries) rather than one LineStringM:
-- points arrive in batches from a phone on a weak network, out of order and repeated, and a
-- row per point takes them with ON CONFLICT DO NOTHING. The LineStringM (M = epoch seconds) and
-- its length on the geography are computed from the points when read.
CREATE TABLE patrol (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES app_user (id) ON DELETE RESTRICT,
    worker      text NOT NULL CHECK (length(worker) BETWEEN 1 AND 200),
    person_id   bigint REFERENCES person (id) ON DELETE SET NULL,
    -- The grid it patrols, by its stable code (grid versions change ids, not codes).
    grid_code   text NOT NULL CHECK (grid_code ~ '^[0-9]{15}$'),
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX patrol_grid_idx ON patrol (grid_code, started_at);
CREATE INDEX patrol_user_idx ON patrol (user_id, started_at);
-- At most one open patrol per account.
CREATE UNIQUE INDEX patrol_one_open_idx ON patrol (user_id) WHERE ended_at IS NULL;

CREATE TABLE patrol_point (
    patrol_id   bigint NOT NULL REFERENCES patrol (id) ON DELETE CASCADE,
    client_id   text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 100),
    at          timestamptz NOT NULL,
    accuracy_m  real CHECK (accuracy_m >= 0),
    geom        geometry(Point, 4326) NOT NULL,
    PRIMARY KEY (patrol_id, client_id)
);
CREATE INDEX patrol_point_time_idx ON patrol_point (patrol_id, at);

CREATE TABLE patrol_finding (
    id          bigserial PRIMARY KEY,
    patrol_id   bigint NOT NULL REFERENCES patrol (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 4000),
    geom        geometry(Point, 4326) NOT NULL,
    -- The worker's uploads (media ids, still unattached); the case they become takes them.
    media       bigint[] NOT NULL DEFAULT '{}',
    incident_id bigint REFERENCES incident (id) ON DELETE SET NULL,
    -- The phone's Idempotency-Key: a finding queued offline and sent twice is stored once.
    client_id   text CHECK (length(client_id) BETWEEN 1 AND 200),
    UNIQUE (patrol_id, client_id)
);
CREATE INDEX patrol_finding_patrol_idx ON patrol_finding (patrol_id);
CREATE UNIQUE INDEX patrol_finding_incident_idx ON patrol_finding (incident_id)
    WHERE incident_id IS NOT NULL;

CREATE TABLE household_visit (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES app_user (id) ON DELETE RESTRICT,
    worker       text NOT NULL CHECK (length(worker) BETWEEN 1 AND 200),
    building_id  bigint NOT NULL REFERENCES building (id) ON DELETE RESTRICT,
    household_id bigint REFERENCES household (id) ON DELETE RESTRICT,
    grid_code    text NOT NULL CHECK (grid_code ~ '^[0-9]{15}$'),
    visited_at   timestamptz NOT NULL,
    purpose      text NOT NULL,
    -- Personal data: masked unless the disclosure rule lets it through (gis/fieldwork/visits.py).
    notes        text NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
    people_met   text NOT NULL DEFAULT '' CHECK (length(people_met) <= 500),
    -- Where the worker stood when recording it (the phone's position, if it had one).
    geom         geometry(Point, 4326),
    accuracy_m   real CHECK (accuracy_m >= 0),
    client_id    text CHECK (length(client_id) BETWEEN 1 AND 200),
    UNIQUE (user_id, client_id)
);
CREATE INDEX household_visit_grid_idx ON household_visit (grid_code, visited_at);
CREATE INDEX household_visit_building_idx ON household_visit (building_id, visited_at);
