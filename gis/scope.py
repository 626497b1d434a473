"""Who is looking: the viewer's role and area scope, and what personal data they may see.

Every account has a role and a scope (an area code); it sees that area's subtree. Anonymous
visitors are the public: they see public layers (boundaries, party organisations, facilities,
aggregates) and no personal data at all. Data functions take a :class:`Viewer` as a required
argument, so a read path cannot forget to scope.

Decisions (docs/security.md): boundaries, party organisations, service facilities, aggregate
statistics and the public fields of incidents (what Open311 publishes: category, place, status,
dates) are public and visible city-wide; personal records (households, residents, party members,
staff contacts, incident reporters) and audit data are visible only inside the viewer's scope,
and personal fields are unmasked only for roles that need them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

ROLES = (
    "admin",
    "district_secretary",
    "street_secretary",
    "community_secretary",
    "grid_chief",
    "grid_worker",
    "party_instructor",
    "command_operator",
    "planner",
    "party_member",
    "resident",
)
PUBLIC_ROLE = "public"
# A resident's account sees himself and his household, never an area: its viewer has no scope
# (so every area-scoped read treats it like the public) and carries the household instead.
RESIDENT_ROLE = "resident"

# Roles whose work needs names, ID numbers and phones of people in their own area.
PERSONAL_DATA_ROLES = frozenset(
    {
        "admin",
        "district_secretary",
        "street_secretary",
        "community_secretary",
        "grid_chief",
        "grid_worker",
        "party_instructor",
    }
)


def subtree_code_prefix(code: str) -> str:
    """The code prefix shared by an area and everything under it.

    Street codes end in ``000`` and their communities replace those digits, so a street's
    subtree is its first nine digits; every other level's subtree extends its full code.

    >>> subtree_code_prefix("620881"), subtree_code_prefix("620881001000")
    ('620881', '620881001')
    >>> subtree_code_prefix("620881001001"), subtree_code_prefix("620881001001001")
    ('620881001001', '620881001001001')
    """
    if len(code) == 12 and code.endswith("000"):
        return code[:9]
    return code


@dataclass(frozen=True)
class Viewer:
    """The account behind a request (or the anonymous public)."""

    username: str | None
    role: str
    scope_code: str | None
    user_id: int | None = None
    session_id: str | None = None
    """The sign-in session the request came with (logout ends it)."""
    operator: str | None = None
    """Who really acts when a command runs as this account (``--as``): the OS user, audited."""
    # Why this request wants personal data (``purpose=`` or ``X-Purpose``), and from where: the
    # disclosure rule (:meth:`unmasks`) and the audit row (gis.audit.disclose) both read them.
    purpose: str | None = None
    client: str | None = None
    # A resident's own household (role ``resident`` only): the one thing besides public data that
    # he may read.
    household_id: int | None = None

    @property
    def is_resident(self) -> bool:
        return self.role == RESIDENT_ROLE

    @property
    def is_public(self) -> bool:
        return self.role == PUBLIC_ROLE

    def covers(self, code: str | None) -> bool:
        """Whether an area code lies in this viewer's subtree.

        >>> Viewer("li", "grid_chief", "620881001001001").covers("620881001001001")
        True
        >>> Viewer("li", "grid_chief", "620881001001001").covers("620881001001002")
        False
        >>> Viewer("wang", "street_secretary", "620881001000").covers("620881001001001")
        True
        >>> ANONYMOUS.covers("620881")
        False
        """
        if self.scope_code is None or code is None:
            return False
        return code.startswith(subtree_code_prefix(self.scope_code))

    @property
    def may_unmask(self) -> bool:
        """Whether this role may see personal fields unmasked (rows in scope only)."""
        return self.role in PERSONAL_DATA_ROLES

    def unmasks(self, code: str | None) -> bool:
        """The disclosure rule: personal fields of a row in area ``code`` are shown unmasked.

        Only to a role that needs them, for a row in its own subtree, and only when the request
        states a purpose; every response that uses it must write an audit row
        (``gis.audit.disclose``) in the same transaction. Without a purpose the answer is masked,
        not refused (docs/security.md, "The disclosure rule").

        >>> chief = Viewer("li", "grid_chief", "620881001001001")
        >>> grid = "620881001001001"
        >>> chief.unmasks(grid), chief.with_purpose("入户走访").unmasks(grid)
        (False, True)
        >>> chief.with_purpose("入户走访").unmasks("620881001001002")
        False
        >>> Viewer("p", "planner", "620881", purpose="规划").unmasks("620881001001001")
        False
        """
        return bool(self.purpose) and self.may_unmask and self.covers(code)

    def with_purpose(self, purpose: str | None, client: str | None = None) -> Viewer:
        """This viewer for one request that states ``purpose`` (None: masked answers)."""
        return replace(self, purpose=purpose, client=client if client is not None else self.client)

    @property
    def scope_like(self) -> str | None:
        """A SQL LIKE pattern matching codes in scope (bind it; never format it into SQL)."""
        return None if self.scope_code is None else subtree_code_prefix(self.scope_code) + "%"


def viewer_scope(role: str, scope_code: str | None) -> str | None:
    """The area scope a viewer of this account gets: none for a resident (his account's stored
    scope is his household's grid, for staff lists; it never widens what he sees).

    >>> viewer_scope("resident", "620881001001001"), viewer_scope("grid_worker", "620881001001001")
    (None, '620881001001001')
    """
    return None if role == RESIDENT_ROLE else scope_code


ANONYMOUS = Viewer(username=None, role=PUBLIC_ROLE, scope_code=None)
