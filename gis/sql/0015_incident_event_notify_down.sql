DROP TRIGGER IF EXISTS incident_event_notify ON incident_event;
DROP FUNCTION IF EXISTS incident_event_notify();
