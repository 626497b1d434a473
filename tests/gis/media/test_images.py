"""Checking and cleaning images (gis/media/images.py) and the filesystem store."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from gis.errors import InvalidInput, TooLarge, UnsupportedType
from gis.media.images import THUMBNAIL_EDGE, clean_image
from gis.media.store import FilesystemStore, content_key
from tests.gis.media.photos import GPS_LAT, GPS_LON, gif, jpeg_with_gps, noise_png, png

LIMITS = {"max_bytes": 2_000_000, "max_pixels": 20_000_000}


def test_a_phone_jpeg_loses_its_metadata_keeps_its_position_apart_and_stands_upright() -> None:
    original = jpeg_with_gps(400, 300)
    assert b"PhoneMaker" in original and b"owner-secret" in original  # the fixture has them
    clean = clean_image(original, **LIMITS)
    assert clean.content_type == "image/jpeg"
    assert clean.position is not None
    assert clean.position.lon == pytest.approx(GPS_LON, abs=1e-6)
    assert clean.position.lat == pytest.approx(GPS_LAT, abs=1e-6)
    served = Image.open(io.BytesIO(clean.data))
    assert dict(served.getexif()) == {}
    assert "exif" not in served.info and "xmp" not in served.info
    for secret in (b"PhoneMaker", b"owner-secret", b"Exif\x00\x00"):
        assert secret not in clean.data
    # Orientation 6 applied to the pixels: 400×300 stored sideways is a 300×400 photo, and the
    # blue corner (top left as stored) is now top right.
    assert (clean.width, clean.height) == served.size == (300, 400)
    red, _green, blue = served.convert("RGB").getpixel((290, 10))
    assert blue > 150 and red < 100


def test_thumbnails_fit_the_edge_and_flatten_transparency() -> None:
    clean = clean_image(jpeg_with_gps(1200, 900), **LIMITS)
    thumb = Image.open(io.BytesIO(clean.thumbnail))
    assert thumb.format == "JPEG" and max(thumb.size) == THUMBNAIL_EDGE
    assert thumb.size == (240, 320)  # upright, as the photo
    transparent = clean_image(png(100, 50), **LIMITS)
    assert transparent.content_type == "image/png"
    assert Image.open(io.BytesIO(transparent.thumbnail)).mode == "RGB"


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"", InvalidInput, "empty"),
        (b"<html><script>alert(1)</script></html>", UnsupportedType, "content was checked"),
        (gif(), UnsupportedType, "JPEG, PNG or WebP"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, UnsupportedType, "HEIC"),
        (jpeg_with_gps()[:600], InvalidInput, "damaged"),
    ],
)
def test_what_is_refused_and_why(data: bytes, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        clean_image(data, **LIMITS)


def test_limits_of_bytes_and_pixels() -> None:
    with pytest.raises(TooLarge, match="bytes"):
        clean_image(noise_png(100, 100), max_bytes=10_000, max_pixels=10**8)
    with pytest.raises(TooLarge, match="pixels"):
        clean_image(png(200, 200), max_bytes=10**7, max_pixels=10_000)


def test_the_filesystem_store_is_content_addressed(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    key = store.put(b"photo", "image/jpeg")
    assert key == content_key(b"photo")
    assert store.put(b"photo", "image/jpeg") == key  # the second put keeps the one copy
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [tmp_path / key[:2] / key[2:4] / key]
    assert store.get(key) == b"photo" and store.exists(key) and store.url(key) is None
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(KeyError):
        store.get(key)
    with pytest.raises(ValueError, match="not a media key"):
        store.get("../../etc/passwd")
