DROP TABLE IF EXISTS notification_attempt;
DROP TABLE IF EXISTS notification_delivery;
DROP TABLE IF EXISTS notification;
DELETE FROM incident_event WHERE kind = 'due_soon';
ALTER TABLE incident_event DROP CONSTRAINT incident_event_kind_check,
    ADD CONSTRAINT incident_event_kind_check
    CHECK (kind IN ('created', 'transition', 'escalated', 'linked', 'updated'));
