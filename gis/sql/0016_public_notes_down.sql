ALTER TABLE incident_transition DROP COLUMN public_attachments, DROP COLUMN public_note;
