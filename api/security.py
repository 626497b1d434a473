"""Who is calling: the :class:`~gis.scope.Viewer` of a request.

Every router that returns data takes ``viewer: ViewerDep`` and passes it to the data functions,
which scope and mask by it. Sign-in (bearer tokens, the session cookie) fills it in; with no
credentials the viewer is the anonymous public.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gis.scope import ANONYMOUS, Viewer


def get_viewer(request: Request) -> Viewer:
    """The viewer of this request; anonymous until sign-in is implemented (issue: security)."""
    viewer = getattr(request.state, "viewer", None)
    return viewer if isinstance(viewer, Viewer) else ANONYMOUS


ViewerDep = Annotated[Viewer, Depends(get_viewer)]
