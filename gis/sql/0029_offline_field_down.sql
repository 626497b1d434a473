DROP INDEX patrol_finding_media_idx;
ALTER TABLE media DROP COLUMN client_id;
ALTER TABLE patrol DROP COLUMN client_id;
