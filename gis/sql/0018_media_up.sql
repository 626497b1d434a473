-- Stored photos and attachments (docs/media.md). The bytes live in the media store under their
-- SHA-256 (the photo with its metadata removed, and its thumbnail); a row says who uploaded
-- them, what they are and what they are attached to. Several rows may share one hash (the same
-- photo sent twice, or attached to two cases): each row has its own owner and visibility.
CREATE TABLE media (
    id               bigserial PRIMARY KEY,
    sha256           text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type     text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    bytes            integer NOT NULL CHECK (bytes > 0),
    width            integer NOT NULL CHECK (width > 0),
    height           integer NOT NULL CHECK (height > 0),
    thumbnail_sha256 text NOT NULL CHECK (thumbnail_sha256 ~ '^[0-9a-f]{64}$'),
    thumbnail_bytes  integer NOT NULL CHECK (thumbnail_bytes > 0),
    -- The camera's EXIF GPS position: kept here (where the case needs it), never in the file.
    geom             geometry(Point, 4326),
    uploaded_by      bigint REFERENCES app_user (id) ON DELETE SET NULL,
    uploader         text NOT NULL CHECK (length(uploader) BETWEEN 1 AND 200),
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- What it is attached to: nothing yet (visible to its uploader only), a case (a report
    -- photo) or one step of a case's history. Other owners add their own column.
    incident_id      bigint REFERENCES incident (id) ON DELETE CASCADE,
    transition_id    bigint REFERENCES incident_transition (id) ON DELETE CASCADE,
    -- Published with the case (Open311 shows it) rather than internal to its scope.
    public           boolean NOT NULL DEFAULT false,
    attached_at      timestamptz,
    CHECK (transition_id IS NULL OR incident_id IS NOT NULL),
    CHECK ((incident_id IS NULL) = (attached_at IS NULL)),
    CHECK (NOT public OR incident_id IS NOT NULL)
);
CREATE INDEX media_sha256_idx ON media (sha256);
CREATE INDEX media_thumbnail_sha256_idx ON media (thumbnail_sha256);
CREATE INDEX media_incident_idx ON media (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX media_unattached_idx ON media (uploaded_by, created_at) WHERE incident_id IS NULL;

-- A case's media_url may now name a stored photo by the app's own URL (gis/media/urls.py);
-- Open311 makes it absolute. External http(s) links stay valid.
ALTER TABLE incident DROP CONSTRAINT incident_media_url_check,
    ADD CONSTRAINT incident_media_url_check
        CHECK (media_url ~ '^https?://' OR media_url ~ '^/api/v1/media/[0-9]{1,18}$');
