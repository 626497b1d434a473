"""Where each account starts: its own place, and the "我的网格 / 我的辖区" link back to it.

One owner for the rule, used by the sign-in redirect (api/routers/auth.py) and by the header of
every page (web/templates/chrome.html via web.mapkit). Decisions (docs/grid-workbench.md):

- grid chiefs, grid workers and party instructors scoped to a grid work on that grid's page;
- the command centre works on ``/command`` and planners on ``/plan``;
- secretaries (community, street, district), party members and admins start on the city map
  zoomed to their area with its panel open (``/?area=<code>``): the city map already is the
  page for an area above a grid (children, statistics, party organisations, cases);
- a grid role scoped to a larger area (an unusual account) is treated like a secretary.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from gis.scope import Viewer

GRID_ROLES = frozenset({"grid_chief", "grid_worker", "party_instructor"})
ROLE_PAGES = {"command_operator": "/command", "planner": "/plan"}
GRID_CODE_LENGTH = 15


@dataclass(frozen=True)
class Home:
    href: str
    label_key: str
    """i18n key of the header link: ``nav.my_grid`` or ``nav.my_area``."""


def home_of(viewer: Viewer) -> Home | None:
    """The viewer's own place, or None for the public (the city map is everyone's).

    >>> home_of(Viewer("li", "grid_chief", "620881001001001")).href
    '/grid/620881001001001'
    >>> home_of(Viewer("wang", "community_secretary", "620881001001")).href
    '/?area=620881001001'
    >>> home_of(Viewer("op", "command_operator", "620881")).href
    '/command'
    >>> home_of(Viewer(None, "public", None)) is None
    True
    """
    if viewer.is_resident and viewer.username is not None:
        return Home("/resident", "nav.my_petitions")
    if viewer.is_public or viewer.username is None or viewer.scope_code is None:
        return None
    scope = viewer.scope_code
    if viewer.role in GRID_ROLES and len(scope) == GRID_CODE_LENGTH:
        return Home(f"/grid/{quote(scope)}", "nav.my_grid")
    if viewer.role in ROLE_PAGES:
        return Home(ROLE_PAGES[viewer.role], "nav.my_area")
    return Home(f"/?area={quote(scope)}", "nav.my_area")


def landing_path(viewer: Viewer) -> str:
    """Where a sign-in without an explicit destination goes."""
    home = home_of(viewer)
    return home.href if home is not None else "/"
