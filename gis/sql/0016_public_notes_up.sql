-- Public and internal notes on incident steps are different fields. Staff write "note" for
-- colleagues (phone calls, names, ID numbers: internal, never published); "public_note" and
-- "public_attachments" are what the reporter and any anonymous reader (Open311
-- servicerequestupdates, status_notes) may see. Every existing note stays internal.
ALTER TABLE incident_transition
    ADD COLUMN public_note text CHECK (public_note IS NULL OR length(public_note) <= 2000),
    ADD COLUMN public_attachments jsonb NOT NULL DEFAULT '[]'::jsonb
        CHECK (jsonb_typeof(public_attachments) = 'array');
