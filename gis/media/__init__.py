"""Photos and attachments, stored for real (docs/media.md).

One module per responsibility: :mod:`~gis.media.images` checks and cleans an uploaded image (pure,
no database), :mod:`~gis.media.store` keeps bytes under their SHA-256 behind a small interface
(a filesystem today, an S3-compatible store tomorrow), :mod:`~gis.media.urls` owns the URLs the
app serves them at, :mod:`~gis.media.records` writes and reads the ``media`` table and decides who
may see a photo, :mod:`~gis.media.models` maps the table.
"""
