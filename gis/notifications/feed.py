"""The live side of the notification centre: each worker reads a batch's notifications once.

The stream of one account follows the worker's event hub (gis/eventhub.py): every notification
is caused by an incident event and committed with it, so when the hub delivers a batch of events
(in stream order, finished transactions only), their notifications are all there. The first
subscriber that needs a batch reads its notifications with one query for everybody; the others
find them in :class:`NotificationFeed`'s memory and keep their own.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from anyio import to_thread
from anyio.lowlevel import RunVar

from gis.db import get_sessionmaker
from gis.notifications.inbox import for_events

# Events whose notifications are remembered (about as many as the hub keeps).
MEMORY_EVENTS = 5000


def _read(event_ids: list[int]) -> list[Any]:
    with get_sessionmaker()() as session:
        return for_events(session, event_ids)


class NotificationFeed:
    """Notifications by event, read once per worker."""

    def __init__(self) -> None:
        self._by_event: OrderedDict[int, list[Any]] = OrderedDict()
        self._lock = asyncio.Lock()

    async def mine(self, account_id: int, event_ids: list[int]) -> list[Any]:
        """The account's notifications caused by these events, in event order."""
        if any(e not in self._by_event for e in event_ids):
            async with self._lock:
                missing = [e for e in event_ids if e not in self._by_event]
                if missing:
                    rows = await to_thread.run_sync(_read, missing)
                    for e in missing:
                        self._by_event[e] = []
                    for row in rows:
                        self._by_event[row.event_id].append(row)
                    while len(self._by_event) > MEMORY_EVENTS:
                        self._by_event.popitem(last=False)
        found: list[Any] = []
        for e in event_ids:
            found += [r for r in self._by_event.get(e, ()) if r.recipient_id == account_id]
        return found


_FEED: RunVar[NotificationFeed] = RunVar("gridgov_notification_feed")


def get_feed() -> NotificationFeed:
    """This event loop's feed (a worker has one loop; each test client its own)."""
    try:
        return _FEED.get()
    except LookupError:
        feed = NotificationFeed()
        _FEED.set(feed)
        return feed
