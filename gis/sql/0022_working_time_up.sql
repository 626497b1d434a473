-- Deadlines run in working time: office hours (08:30–12:00, 14:00–17:30 by default) on working
-- days. The rule table keeps its columns; their unit changes from "24-hour days on working
-- days" to working hours, so the shipped rows are converted at one working day = 7 working
-- hours (48 h = 2 days → 14). Round-the-clock rows (calendar_time, emergencies) keep clock hours.
UPDATE incident_deadline_rule
SET handle_hours = ceil(handle_hours * 7 / 24.0)::int,
    escalate_every_hours = ceil(escalate_every_hours * 7 / 24.0)::int
WHERE NOT calendar_time;
ALTER TABLE incident_deadline_rule ALTER COLUMN escalate_every_hours SET DEFAULT 7;

-- A deadline approaching is announced once per stage: the deadline it was announced for (the
-- due_soon event kind itself came with 0019_notifications).
ALTER TABLE incident ADD COLUMN due_soon_for timestamptz;
