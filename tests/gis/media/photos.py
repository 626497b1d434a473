"""Test photos made with Pillow: a phone-like JPEG with EXIF (GPS, orientation, camera), others."""

from __future__ import annotations

import io

from PIL import Image

# Where the test camera says it was: 华亭市, as EXIF degrees/minutes/seconds.
GPS_LON, GPS_LAT = 106.67, 30.26
_GPS = {1: "N", 2: (30.0, 15.0, 36.0), 3: "E", 4: (106.0, 40.0, 12.0)}
ORIENTATION_ROTATE_90 = 6  # the camera was held upright: the pixels are stored sideways


def jpeg_with_gps(
    width: int = 400, height: int = 300, colour: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    """A JPEG as a phone writes it: EXIF with GPS, orientation 6, maker and serial, and XMP."""
    image = Image.new("RGB", (width, height), colour)
    image.paste((20, 20, 200), (0, 0, width // 4, height // 4))  # a corner to see rotation by
    exif = Image.Exif()
    exif[0x0112] = ORIENTATION_ROTATE_90
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = _GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, xmp=b"<x:xmpmeta>owner-secret</x:xmpmeta>")
    return out.getvalue()


def png(width: int = 64, height: int = 48, mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (10, 200, 10, 128) if mode == "RGBA" else 128).save(out, "PNG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (16, 16)).save(out, "GIF")
    return out.getvalue()


def noise_png(width: int, height: int) -> bytes:
    """A PNG that does not compress (random pixels): its size grows with its pixels."""
    import os

    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "PNG")
    return out.getvalue()
