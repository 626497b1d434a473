ALTER TABLE incident DROP COLUMN due_soon_for;

ALTER TABLE incident_deadline_rule ALTER COLUMN escalate_every_hours SET DEFAULT 24;
UPDATE incident_deadline_rule
SET handle_hours = round(handle_hours * 24 / 7.0)::int,
    escalate_every_hours = round(escalate_every_hours * 24 / 7.0)::int
WHERE NOT calendar_time;
