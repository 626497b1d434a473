-- Stored photos go with their table; a case keeps only external links.
UPDATE incident SET media_url = NULL WHERE media_url !~ '^https?://';
ALTER TABLE incident DROP CONSTRAINT incident_media_url_check,
    ADD CONSTRAINT incident_media_url_check CHECK (media_url ~ '^https?://');
DROP TABLE media;
