"""Checking and cleaning an uploaded image; pure (bytes in, bytes out), no database.

The type is decided by decoding the content with Pillow, never by the file name or the declared
content type. Every accepted image is decoded and encoded again: that applies the EXIF
orientation to the pixels, drops every piece of metadata (EXIF with its GPS position, camera
serial numbers and time, XMP, comments) and turns a polyglot file (an image that is also HTML or
a script) into a plain image. The GPS position is read before it is dropped and handed back
separately, so the caller may keep it in the database record (docs/media.md).
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from gis.errors import InvalidInput, TooLarge, UnsupportedType

# Pillow format name -> the content type the photo is stored and served as.
ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
THUMBNAIL_TYPE = "image/jpeg"
THUMBNAIL_EDGE = 320  # px, the longer side: a case panel's thumbnail at 2x on a phone
JPEG_QUALITY = 88
THUMBNAIL_QUALITY = 80
WEBP_QUALITY = 88
# ISO base media files (HEIF/HEIC, AVIF) name their brand at bytes 4..12.
_HEIF_BRANDS = (b"ftypheic", b"ftypheix", b"ftyphevc", b"ftypmif1", b"ftypmsf1", b"ftypavif")
_GPS_IFD = 0x8825
_ACCEPTED_NAMES = "JPEG, PNG or WebP"


@dataclass(frozen=True)
class Position:
    """Where the camera said the photo was taken (WGS84, as EXIF GPS records it)."""

    lon: float
    lat: float


@dataclass(frozen=True)
class CleanImage:
    """An accepted image without metadata, its thumbnail and what was read from it."""

    data: bytes
    content_type: str
    width: int
    height: int
    thumbnail: bytes
    position: Position | None


def _refuse_type(data: bytes) -> UnsupportedType:
    if data[4:12] in _HEIF_BRANDS:
        return UnsupportedType(
            "HEIC/HEIF/AVIF photos are not accepted; send a JPEG, PNG or WebP (on an iPhone: "
            "Settings › Camera › Formats › Most Compatible, or share the photo as JPEG)",
            parameter="file",
        )
    return UnsupportedType(
        f"the file is not a {_ACCEPTED_NAMES} image (its content was checked, not its name); "
        "send a photo in one of these formats",
        parameter="file",
    )


def _damaged(exc: Exception) -> InvalidInput:
    return InvalidInput(
        f"the image is damaged or incomplete ({exc.__class__.__name__}); take or export the "
        "photo again",
        parameter="file",
    )


def _rational(value: object) -> float:
    number = float(value)  # type: ignore[arg-type]  # IFDRational and int both convert
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _degrees(dms: object, ref: object, negative: str) -> float:
    d, m, s = (_rational(part) for part in dms)  # type: ignore[attr-defined]
    value = d + m / 60 + s / 3600
    return -value if str(ref).strip().upper() == negative else value


def gps_position(image: Image.Image) -> Position | None:
    """The EXIF GPS position of ``image``, or None when it has none or it does not make sense."""
    try:
        gps = image.getexif().get_ifd(_GPS_IFD)
        lat = _degrees(gps[2], gps.get(1, "N"), "S")
        lon = _degrees(gps[4], gps.get(3, "E"), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return Position(round(lon, 7), round(lat, 7))


def _without_metadata(image: Image.Image) -> Image.Image:
    """The pixels of ``image`` in a fresh image: nothing of ``info`` (EXIF, XMP, comments)."""
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    if image.mode == "P":
        palette = image.getpalette()
        if palette is not None:
            clean.putpalette(palette)
        if "transparency" in image.info:
            clean.info["transparency"] = image.info["transparency"]
    return clean


def _encode(image: Image.Image, fmt: str, icc: bytes | None) -> bytes:
    out = io.BytesIO()
    extra = {"icc_profile": icc} if icc else {}
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, **extra)
    elif fmt == "PNG":
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True, **extra)
    else:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(out, "WEBP", quality=WEBP_QUALITY, **extra)
    return out.getvalue()


def thumbnail_of(image: Image.Image) -> bytes:
    """A JPEG at most THUMBNAIL_EDGE pixels on its longer side; transparency on white."""
    small = image.copy()
    small.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
    if small.mode in ("RGBA", "LA", "P"):
        rgba = small.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        small = flat
    elif small.mode != "RGB":
        small = small.convert("RGB")
    out = io.BytesIO()
    small.save(out, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return out.getvalue()


def clean_image(data: bytes, *, max_bytes: int, max_pixels: int) -> CleanImage:
    """Check ``data`` is an accepted, intact image within the limits; return it cleaned.

    Raises TooLarge (413) over ``max_bytes`` or ``max_pixels``, UnsupportedType (415) for
    anything that does not decode as JPEG, PNG or WebP (and for animations), InvalidInput (400)
    for an empty, damaged or truncated image. Each message says what to send instead.
    """
    if not data:
        raise InvalidInput("the file is empty; choose a photo", parameter="file")
    if len(data) > max_bytes:
        raise TooLarge(
            f"the photo has {len(data):,} bytes; at most {max_bytes:,} are accepted "
            "(send a smaller photo or lower the camera's resolution)",
            parameter="file",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse_type(data) from None
    except (OSError, SyntaxError, ValueError) as exc:  # a known format, cut off in its header
        raise _damaged(exc) from None
    fmt = image.format or ""
    if fmt not in ACCEPTED_FORMATS:
        raise _refuse_type(data)
    width, height = image.size
    if width * height > max_pixels:
        raise TooLarge(
            f"the photo has {width}×{height} pixels; at most {max_pixels:,} pixels are accepted",
            parameter="file",
        )
    if getattr(image, "is_animated", False):
        raise UnsupportedType(
            "animated images are not accepted; send a single photo", parameter="file"
        )
    try:
        image.load()
        position = gps_position(image)
        icc = image.info.get("icc_profile")
        upright = ImageOps.exif_transpose(image)
        clean = _without_metadata(upright)
        encoded = _encode(clean, fmt, icc if isinstance(icc, bytes) else None)
        thumbnail = thumbnail_of(clean)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise _damaged(exc) from None
    return CleanImage(
        encoded, ACCEPTED_FORMATS[fmt], clean.width, clean.height, thumbnail, position
    )
