"""Request dependencies. The session dependency owns the transaction of a request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from gis.db import get_session

SessionDep = Annotated[Session, Depends(get_session)]
