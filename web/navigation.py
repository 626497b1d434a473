"""The page bar's menu: which pages each account is offered (web/templates/chrome.html).

One owner for the menu. A link is offered only to the roles its page serves, taken from the
rule the page itself applies (its role set is imported, never restated), so nobody is shown a
link that answers 403: a resident sees the city map, the party chain and his own requests; a
party member adds 双报到; party work roles see organisational life and the register; the staff
desk for residents follows gis.residents.access. On a phone the menu folds behind one button
(docs/pages.md).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from gis.orglife.meetings import ORG_LIFE_ROLES
from gis.residents.access import STAFF_READERS
from gis.scope import Viewer
from web.dual_page import PAGE_ROLES as DUAL_PAGE_ROLES


def _everyone(viewer: Viewer) -> bool:
    return True


def _not_a_resident(viewer: Viewer) -> bool:
    return not viewer.is_resident


def _staff(viewer: Viewer) -> bool:
    """Signed-in accounts that work cases (petitions and disputes check the step's role)."""
    return viewer.username is not None and not viewer.is_resident and not viewer.is_public


def _roles(roles: Collection[str]) -> Callable[[Viewer], bool]:
    return lambda viewer: viewer.username is not None and viewer.role in roles


@dataclass(frozen=True)
class NavLink:
    href: str
    label_key: str
    offered_to: Callable[[Viewer], bool]


MENU: tuple[NavLink, ...] = (
    NavLink("/", "nav.city", _everyone),
    NavLink("/command", "nav.command", _not_a_resident),
    NavLink("/party/org-life", "nav.org_life", _roles(ORG_LIFE_ROLES)),
    NavLink("/party/dual", "nav.dual", _roles(DUAL_PAGE_ROLES)),
    NavLink("/residents", "res.nav", _roles(STAFF_READERS)),
    NavLink("/party/members", "nav.members", _roles(ORG_LIFE_ROLES)),
    NavLink("/party/chain", "members.chain_link", _everyone),
    NavLink("/command/petitions", "nav.petitions", _staff),
    NavLink("/mediation", "nav.mediation", _staff),
)


def menu_for(viewer: Viewer) -> list[NavLink]:
    """The links of the page bar for ``viewer``, in menu order.

    >>> [link.href for link in menu_for(Viewer("r1", "resident", "620881001001001"))]
    ['/', '/party/chain']
    >>> "/party/dual" in [link.href for link in menu_for(Viewer("m", "party_member", "620881"))]
    True
    >>> [link.href for link in menu_for(Viewer(None, "public", None))]
    ['/', '/command', '/party/chain']
    """
    return [link for link in MENU if link.offered_to(viewer)]
