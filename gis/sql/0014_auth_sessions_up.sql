-- Revocable sign-in sessions and lock-out per source address (issue 14, findings 3, 4 and 6).
--
-- A sign-in creates one auth_session row. Access tokens and the map pages' cookie name the row
-- (claim "sid"), and every request checks it is neither revoked nor expired, so logout, a new
-- password or disabling the account end it at once. The refresh token is "<id>.<secret>"; only
-- the SHA-256 of its current secret is stored, and it is replaced on every use: presenting an
-- earlier one (a stolen copy) revokes the session.
CREATE TABLE auth_session (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('api', 'cookie')),
    refresh_digest char(64),
    client text,
    user_agent text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at timestamptz,
    revoked_reason text
);
-- Revoking every session of an account; and "has this account signed in from this address
-- lately" (such an address is not held back by the account's lock-out).
CREATE INDEX auth_session_user_client_idx ON auth_session (user_id, client, created_at);

-- Failed sign-ins per source address, over every username: one address guessing many accounts
-- (or one) is held back without locking the accounts themselves.
CREATE TABLE sign_in_throttle (
    address text PRIMARY KEY,
    failures integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz
);
