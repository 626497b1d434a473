-- The phone starts patrols and takes photos offline (docs/field-work.md, "Offline"): the
-- phone's own id of a patrol and of an upload, so what its outbox sends twice is stored once.
ALTER TABLE patrol ADD COLUMN client_id text CHECK (length(client_id) BETWEEN 1 AND 200);
ALTER TABLE patrol ADD CONSTRAINT patrol_user_client_key UNIQUE (user_id, client_id);

ALTER TABLE media ADD COLUMN client_id text CHECK (length(client_id) BETWEEN 1 AND 200);
ALTER TABLE media ADD CONSTRAINT media_uploader_client_key UNIQUE (uploaded_by, client_id);

-- Who may see an unattached photo asks which finding names it (gis/media/records.py), and a
-- sweep of unattached uploads must skip those (docs/media.md): containment on the array.
CREATE INDEX patrol_finding_media_idx ON patrol_finding USING gin (media);
