"""Signed links: an HMAC-SHA256 under a key derived from the app's secret, one key per purpose.

The owner of how gridgov signs a credential it hands out (a reporter's rating link, a
resident's link): each use names its own ``purpose`` (domain separation, so a signature made for
one use is worthless for another), and rotating the app's secret revokes every link at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def _key(secret: str, purpose: bytes) -> bytes:
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


def signature(secret: str, purpose: bytes, message: str) -> str:
    """A 22-character URL-safe signature of ``message`` for ``purpose``.

    >>> s = signature("s" * 48, b"gridgov/test/v1", "42.1811462400")
    >>> len(s), s == signature("s" * 48, b"gridgov/other/v1", "42.1811462400")
    (22, False)
    """
    digest = hmac.new(_key(secret, purpose), message.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def matches(secret: str, purpose: bytes, message: str, given: str) -> bool:
    """Whether ``given`` is the signature of ``message`` (compared in constant time)."""
    return hmac.compare_digest(given, signature(secret, purpose, message))
