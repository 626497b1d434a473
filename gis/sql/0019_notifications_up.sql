-- Who is told what (docs/notifications.md). Rows are derived from incident events inside the
-- step's own transaction (gis/notifications/derive.py), so a notification or a delivery exists
-- exactly when the step committed.

-- An approaching deadline is an incident event of its own (written by the deadline runner), so
-- whoever follows the stream sees it and the notification hook derives from it.
ALTER TABLE incident_event DROP CONSTRAINT incident_event_kind_check,
    ADD CONSTRAINT incident_event_kind_check
    CHECK (kind IN ('created', 'transition', 'escalated', 'linked', 'updated', 'due_soon'));

-- The in-app notification centre: one row per account and event.
CREATE TABLE notification (
    id bigserial PRIMARY KEY,
    recipient_id bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    incident_id bigint NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
    -- The incident_event that caused it: the live stream delivers it in that event's order.
    event_id bigint NOT NULL REFERENCES incident_event (id) ON DELETE CASCADE,
    trigger text NOT NULL CHECK (trigger IN ('dispatch', 'send_back', 'due_soon', 'escalation')),
    -- Case code, category, area, deadline: never the reporter's name or phone.
    data jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz,
    UNIQUE (recipient_id, event_id)
);
CREATE INDEX notification_recipient_idx ON notification (recipient_id, id DESC);
CREATE INDEX notification_unread_idx ON notification (recipient_id) WHERE read_at IS NULL;
CREATE INDEX notification_event_idx ON notification (event_id);

-- The outbox: one delivery per configured channel and event, sent after commit by the sender.
CREATE TABLE notification_delivery (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    channel text NOT NULL CHECK (channel ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    incident_id bigint NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
    event_id bigint NOT NULL REFERENCES incident_event (id) ON DELETE CASCADE,
    trigger text NOT NULL CHECK (trigger IN ('dispatch', 'send_back', 'due_soon', 'escalation')),
    message jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    last_error text,
    UNIQUE (channel, event_id)
);
CREATE INDEX notification_delivery_due_idx ON notification_delivery (next_attempt_at)
    WHERE status = 'pending';

-- Every attempt to send a delivery, whatever came of it.
CREATE TABLE notification_attempt (
    id bigserial PRIMARY KEY,
    delivery_id uuid NOT NULL REFERENCES notification_delivery (id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    ok boolean NOT NULL,
    response_code integer,
    error text,
    duration_ms integer NOT NULL CHECK (duration_ms >= 0)
);
CREATE INDEX notification_attempt_delivery_idx ON notification_attempt (delivery_id, id);
