DROP TABLE IF EXISTS org_meeting_attendance;
DROP TABLE IF EXISTS org_meeting;
