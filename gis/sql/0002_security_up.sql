-- gridgov security: the append-only audit log and API clients (Open311 api_key holders).

-- Who read or changed what, when and why. Rows are only ever appended: a trigger refuses
-- UPDATE and DELETE (and TRUNCATE) for every database role, the table owner included, so that a
-- bug or a compromised application session cannot rewrite history. Disabling the trigger needs
-- ALTER TABLE, which the operations guide reserves to the database administrator.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    username    text,
    role        text NOT NULL,
    scope_code  text,
    action      text NOT NULL CHECK (action ~ '^[a-z_.]{3,64}$'),
    target      text NOT NULL CHECK (length(target) BETWEEN 1 AND 500),
    purpose     text CHECK (purpose IS NULL OR length(purpose) BETWEEN 1 AND 500),
    client      text CHECK (client IS NULL OR length(client) <= 100),
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(detail) = 'object')
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_username_at_idx ON audit_log (username, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Programs that may write to the public surfaces (Open311 POST). Only a SHA-256 digest of the
-- key is stored: keys are 256-bit random tokens, so a fast digest is safe and allows an indexed
-- lookup; the key itself is shown once when it is created.
CREATE TABLE api_client (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_.-]{3,64}$'),
    key_digest    char(64) NOT NULL UNIQUE CHECK (key_digest ~ '^[0-9a-f]{64}$'),
    key_prefix    text NOT NULL CHECK (length(key_prefix) BETWEEN 4 AND 16),
    contact       text CHECK (contact IS NULL OR length(contact) <= 200),
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz
);
