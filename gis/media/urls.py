"""The URLs the app serves stored photos at: the one place that spells them.

History rows keep these URLs in their ``attachments`` (beside external http(s) links recorded
before photos were stored, or by importers), the case keeps the first report photo's URL in
``media_url`` (Open311 makes it absolute), and the pages get thumbnails from
:func:`photo_of_url`.
"""

from __future__ import annotations

import re
from typing import Any

MEDIA_PATH = "/api/v1/media"
_STORED = re.compile(r"^" + re.escape(MEDIA_PATH) + r"/([0-9]{1,18})$")


def media_url(media_id: int) -> str:
    """
    >>> media_url(7)
    '/api/v1/media/7'
    """
    return f"{MEDIA_PATH}/{media_id}"


def thumbnail_url(media_id: int) -> str:
    """
    >>> thumbnail_url(7)
    '/api/v1/media/7/thumbnail'
    """
    return f"{MEDIA_PATH}/{media_id}/thumbnail"


def media_id_of_url(url: str) -> int | None:
    """The id of a stored photo's URL, None for anything else (an external link).

    >>> media_id_of_url("/api/v1/media/12"), media_id_of_url("https://img.example/1.jpg")
    (12, None)
    """
    match = _STORED.match(url)
    return int(match.group(1)) if match else None


def photo_of_url(url: str) -> dict[str, Any] | None:
    """What a page needs to show a stored photo of a history row: its id, URL and thumbnail."""
    media_id = media_id_of_url(url)
    if media_id is None:
        return None
    return {"id": media_id, "url": url, "thumbnail_url": thumbnail_url(media_id)}


def photos_of(urls: list[str]) -> list[dict[str, Any]]:
    """The stored photos among ``urls``, in order."""
    return [photo for photo in map(photo_of_url, urls) if photo is not None]
