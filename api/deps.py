"""Request dependencies. The session dependency owns the transaction of a request.

``scope="function"`` is what makes "acknowledged means stored" hold: FastAPI ends a
function-scoped dependency (here: commits the request's transaction) after the handler returned
and before the response is sent. A failed commit therefore answers 503 (gis.db.NotStored), never
a 2xx for data that does not exist. Handlers never commit themselves; the dependency is the one
place that does (docs/architecture.md, "The API").
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Final

from fastapi import Depends
from sqlalchemy.orm import Session

from gis.db import get_read_sessionmaker, get_session, replica_configured, session_for_request

SESSION_SCOPE: Final = "function"
SessionDep = Annotated[Session, Depends(get_session, scope=SESSION_SCOPE)]


async def get_read_session(primary: SessionDep) -> AsyncIterator[Session]:
    """A session for read-only handlers: the replica's when GRIDGOV_REPLICA_URL is set.

    Without a replica it is the request's primary session itself. The primary session is taken
    as a sub-dependency so that overriding ``get_session`` (as the tests do) also overrides
    reads; a SQLAlchemy session connects only when first used, so the unused primary session
    costs no connection when the replica serves the request. Like ``get_session`` it runs on
    the event loop and takes a thread only to end a read transaction.
    """
    if not replica_configured():
        yield primary
        return
    async with session_for_request(get_read_sessionmaker()) as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope=SESSION_SCOPE)]
"""For GET handlers that only read (maps, tiles, items, locate): may lag the primary slightly."""
