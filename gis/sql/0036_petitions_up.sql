-- Resident accounts, petitions (诉求) and dispute mediation (三级调解), docs/residents.md.
--
-- Residents get accounts: role 'resident', tied to one household (the account sees itself and
-- that household only; its scope_code is the household's grid, kept for staff lists, never used
-- to widen what the resident sees: gis/scope.py gives a resident viewer no area scope).
ALTER TABLE app_user DROP CONSTRAINT app_user_role_check;
ALTER TABLE app_user ADD CONSTRAINT app_user_role_check CHECK (role IN (
    'admin', 'district_secretary', 'street_secretary', 'community_secretary',
    'grid_chief', 'grid_worker', 'party_instructor', 'command_operator',
    'planner', 'party_member', 'resident'));
ALTER TABLE app_user ADD COLUMN household_id bigint REFERENCES household (id) ON DELETE SET NULL;
ALTER TABLE app_user ADD COLUMN resident_id bigint REFERENCES resident (id) ON DELETE SET NULL;
ALTER TABLE app_user ADD CONSTRAINT app_user_resident_household
    CHECK ((role = 'resident') = (household_id IS NOT NULL));
CREATE INDEX app_user_household_idx ON app_user (household_id) WHERE household_id IS NOT NULL;

-- Self-registration: a code sent to the phone on a resident record (sender pluggable,
-- gis/phone_verification.py). Only a hash of the code is kept; attempts are counted.
CREATE TABLE phone_verification (
    id          bigserial PRIMARY KEY,
    phone       text NOT NULL CHECK (phone ~ '^1[3-9][0-9]{9}$'),
    code_hash   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    attempts    smallint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    used_at     timestamptz
);
CREATE INDEX phone_verification_phone_idx ON phone_verification (phone, created_at DESC);

-- Petitions and disputes take their ids from the incident sequence: one case numbering, so the
-- one case-code format (gis.incidents.intake.case_code) never gives two cases the same code.
CREATE TABLE petition (
    id             bigint PRIMARY KEY DEFAULT nextval('incident_id_seq'),
    code           text NOT NULL UNIQUE,
    petition_type  text NOT NULL CHECK (petition_type IN ('request', 'complaint', 'suggestion')),
    subject        text NOT NULL,
    title          text NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    description    text NOT NULL CHECK (length(description) BETWEEN 1 AND 4000),
    submitted_by   bigint REFERENCES app_user (id) ON DELETE SET NULL,
    household_id   bigint REFERENCES household (id) ON DELETE SET NULL,
    petitioner_name  text CHECK (length(petitioner_name) BETWEEN 1 AND 50),
    petitioner_phone text CHECK (petitioner_phone ~ '^1[3-9][0-9]{9}$'),
    -- The area versions in force when it was submitted (like incidents).
    grid_id        bigint REFERENCES area (id) ON DELETE RESTRICT,
    community_id   bigint NOT NULL REFERENCES area (id) ON DELETE RESTRICT,
    street_id      bigint NOT NULL REFERENCES area (id) ON DELETE RESTRICT,
    district_code  char(6) NOT NULL,
    status         text NOT NULL DEFAULT 'submitted',
    escalation_level text NOT NULL DEFAULT 'community'
        CHECK (escalation_level IN ('grid', 'community', 'street', 'district')),
    assigned_to    text,
    submitted_at   timestamptz NOT NULL,
    due_at         timestamptz,
    answer         text CHECK (length(answer) BETWEEN 1 AND 4000),
    answered_at    timestamptz,
    answered_by    text,
    rating         smallint CHECK (rating BETWEEN 1 AND 5),
    rating_comment text,
    rated_at       timestamptz,
    closed_at      timestamptz,
    incident_id    bigint REFERENCES incident (id) ON DELETE SET NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX petition_community_idx ON petition (community_id, submitted_at);
CREATE INDEX petition_household_idx ON petition (household_id);
CREATE INDEX petition_open_due_idx ON petition (due_at)
    WHERE status IN ('submitted', 'accepted', 'assigned');

CREATE TABLE petition_transition (
    id           bigserial PRIMARY KEY,
    petition_id  bigint NOT NULL REFERENCES petition (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    from_status  text,
    to_status    text NOT NULL,
    action       text,
    note         text,
    public_note  text
);
CREATE INDEX petition_transition_idx ON petition_transition (petition_id, at);

CREATE TABLE dispute (
    id            bigint PRIMARY KEY DEFAULT nextval('incident_id_seq'),
    code          text NOT NULL UNIQUE,
    dispute_type  text NOT NULL,
    summary       text NOT NULL CHECK (length(summary) BETWEEN 1 AND 4000),
    grid_id       bigint REFERENCES area (id) ON DELETE RESTRICT,
    community_id  bigint NOT NULL REFERENCES area (id) ON DELETE RESTRICT,
    street_id     bigint NOT NULL REFERENCES area (id) ON DELETE RESTRICT,
    district_code char(6) NOT NULL,
    -- Who mediates now: the grid, the community's or the street's mediation committee.
    level         text NOT NULL DEFAULT 'grid' CHECK (level IN ('grid', 'community', 'street')),
    level_since   timestamptz NOT NULL,
    mediator      text,
    status        text NOT NULL,  -- gis.incidents.vocabulary owns the statuses; the writer sets it
    registered_by text NOT NULL,
    registered_at timestamptz NOT NULL,
    due_at        timestamptz,
    closed_at     timestamptz,
    outcome       text CHECK (outcome IN ('agreement', 'failed', 'withdrawn')),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dispute_community_idx ON dispute (community_id, registered_at);

CREATE TABLE dispute_party (
    id          bigserial PRIMARY KEY,
    dispute_id  bigint NOT NULL REFERENCES dispute (id) ON DELETE CASCADE,
    side        text NOT NULL CHECK (side IN ('applicant', 'respondent')),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    phone       text CHECK (phone ~ '^1[3-9][0-9]{9}$'),
    id_number   text CHECK (id_number ~ '^[0-9]{17}[0-9X]$'),
    resident_id bigint REFERENCES resident (id) ON DELETE SET NULL
);
CREATE INDEX dispute_party_dispute_idx ON dispute_party (dispute_id);

CREATE TABLE dispute_session (
    id          bigserial PRIMARY KEY,
    dispute_id  bigint NOT NULL REFERENCES dispute (id) ON DELETE CASCADE,
    level       text NOT NULL CHECK (level IN ('grid', 'community', 'street')),
    held_at     timestamptz NOT NULL,
    mediator    text NOT NULL CHECK (length(mediator) BETWEEN 1 AND 100),
    outcome     text NOT NULL CHECK (outcome IN ('agreed', 'continued', 'failed')),
    note        text CHECK (length(note) <= 4000),
    recorded_by text NOT NULL
);
CREATE INDEX dispute_session_dispute_idx ON dispute_session (dispute_id, held_at);

-- 调解协议: at most one per dispute.
CREATE TABLE dispute_agreement (
    dispute_id  bigint PRIMARY KEY REFERENCES dispute (id) ON DELETE CASCADE,
    level       text NOT NULL CHECK (level IN ('grid', 'community', 'street')),
    signed_at   timestamptz NOT NULL,
    terms       text NOT NULL CHECK (length(terms) BETWEEN 1 AND 8000),
    fulfil_by   date,
    recorded_by text NOT NULL
);

-- 回访: a visit after the agreement, checking it is kept.
CREATE TABLE dispute_followup (
    id          bigserial PRIMARY KEY,
    dispute_id  bigint NOT NULL REFERENCES dispute (id) ON DELETE CASCADE,
    visited_at  timestamptz NOT NULL,
    fulfilled   boolean NOT NULL,
    note        text CHECK (length(note) <= 4000),
    recorded_by text NOT NULL
);

CREATE TABLE dispute_transition (
    id           bigserial PRIMARY KEY,
    dispute_id   bigint NOT NULL REFERENCES dispute (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    from_status  text,
    to_status    text NOT NULL,
    action       text,
    level        text NOT NULL,
    note         text
);
CREATE INDEX dispute_transition_idx ON dispute_transition (dispute_id, at);
