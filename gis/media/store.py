"""Where the bytes of photos live: one small interface, a filesystem implementation.

Objects are content-addressed: the key is the SHA-256 of the bytes (lower-case hex), so storing
the same photo twice keeps one copy, a key never changes its content (served as immutable), and
a put that is repeated after a failed transaction is harmless. The database (``media`` table)
says who uploaded what and to which case it belongs; the store knows only bytes.

Another backend (an S3-compatible object store) implements :class:`MediaStore` and is returned
by :func:`get_store`; docs/media.md explains how.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from gis.settings import get_settings

_KEY = re.compile(r"^[0-9a-f]{64}$")


def content_key(data: bytes) -> str:
    """The key of ``data``: its SHA-256 in lower-case hex.

    >>> content_key(b"")[:16]
    'e3b0c44298fc1c14'
    """
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    """``key`` if it is a content key (so it can never name a path outside the store)."""
    if not _KEY.match(key):
        raise ValueError(f"not a media key: {key!r}")
    return key


class MediaStore(Protocol):
    """Bytes by content key. Implementations must make ``put`` atomic (a reader sees the whole
    object or none) and idempotent, and ``get`` raise KeyError for a missing key."""

    def put(self, data: bytes, content_type: str) -> str:
        """Store ``data``; return its key (:func:`content_key`)."""
        ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object; nothing happens when it is missing."""
        ...

    def url(self, key: str) -> str | None:
        """A URL the client may fetch the object from directly (e.g. a presigned S3 URL), or
        None when the app serves the bytes itself (the filesystem store)."""
        ...


class FilesystemStore:
    """Objects as files ``root/ab/cd/abcd…`` (two levels of 256 directories keep each small)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes, content_type: str) -> str:
        del content_type  # the database records it; a file needs none
        key = content_key(data)
        target = self.path(key)
        if target.is_file():
            return key
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        # Written under a temporary name and renamed: a reader never sees half a photo, and
        # two workers storing the same photo at once both end with the same complete file.
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o640)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str | None:
        del key
        return None


def get_store() -> MediaStore:
    """The configured store: the filesystem under ``GRIDGOV_MEDIA_DIR`` ($GRIDGOV_HOME/media)."""
    media_dir = get_settings().media_dir
    assert media_dir is not None  # Settings fills it from home
    return FilesystemStore(media_dir)
