"""Helpers shared by the security tests: accounts per role in the rolled-back demo session.

Accounts are inserted with one precomputed argon2 hash (hashing is deliberately slow), and
tokens are minted directly, so a test can act as every role in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.security import create_token
from gis.accounts import LINK_FIRST_MEMBER_SQL, get_account, hash_password, start_session
from gis.scope import ANONYMOUS, RESIDENT_ROLE, ROLES, Viewer, viewer_scope

PASSWORD = "correct-horse-battery"
_HASH: list[str] = []


def password_hash() -> str:
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


@dataclass(frozen=True)
class DemoAreas:
    """A nested district ⊃ street ⊃ community ⊃ grid of the demo city, plus areas outside it."""

    district: str
    street: str
    community: str
    grid: str
    sibling_grid: str  # same community, another grid
    other_street: str
    other_grid: str  # a grid in other_street


def demo_areas(session: Session) -> DemoAreas:
    grid = session.execute(
        text(
            "SELECT g.code AS grid, c.code AS community, s.code AS street, d.code AS district"
            " FROM area g JOIN area c ON c.id = g.parent_id JOIN area s ON s.id = c.parent_id"
            " JOIN area d ON d.id = s.parent_id"
            " WHERE g.level = 'grid' AND g.valid_to IS NULL"
            "   AND EXISTS (SELECT 1 FROM building b JOIN household h ON h.building_id = b.id"
            "               WHERE b.grid_id = g.id)"
            " ORDER BY g.code LIMIT 1"
        )
    ).one()
    sibling = session.execute(
        text(
            "SELECT g.code FROM area g WHERE g.level = 'grid' AND g.valid_to IS NULL"
            " AND g.code LIKE :c AND g.code <> :g"
            " AND EXISTS (SELECT 1 FROM building b JOIN household h ON h.building_id = b.id"
            "             WHERE b.grid_id = g.id) ORDER BY g.code LIMIT 1"
        ),
        {"c": grid.community + "%", "g": grid.grid},
    ).scalar_one()
    other = session.execute(
        text(
            "SELECT g.code, s.code AS street FROM area g JOIN area c ON c.id = g.parent_id"
            " JOIN area s ON s.id = c.parent_id"
            " WHERE g.level = 'grid' AND g.valid_to IS NULL AND s.code <> :s"
            " AND EXISTS (SELECT 1 FROM building b JOIN household h ON h.building_id = b.id"
            "             WHERE b.grid_id = g.id) ORDER BY g.code LIMIT 1"
        ),
        {"s": grid.street},
    ).one()
    return DemoAreas(
        district=grid.district,
        street=grid.street,
        community=grid.community,
        grid=grid.grid,
        sibling_grid=sibling,
        other_street=other.street,
        other_grid=other.code,
    )


def scope_for(role: str, areas: DemoAreas) -> str:
    """The scope each role's test account gets: as narrow as the role normally is."""
    return {
        "admin": areas.district,
        "district_secretary": areas.district,
        "street_secretary": areas.street,
        "community_secretary": areas.community,
        "grid_chief": areas.grid,
        "grid_worker": areas.grid,
        "party_instructor": areas.grid,
        "command_operator": areas.district,
        "planner": areas.district,
        "party_member": areas.community,
        # A resident's account is stored with his household's grid; his viewer has no scope.
        "resident": areas.grid,
    }[role]


def add_account(session: Session, username: str, role: str, scope: str) -> Viewer:
    """An account of ``role`` scoped to ``scope``; a resident's belongs to the first household
    of the grid ``scope`` and its first resident (its viewer, like the app's, has no area
    scope)."""
    household = person = None
    if role == RESIDENT_ROLE:  # tied to the household's first resident, as staff make them
        household, person = session.execute(
            text(
                "SELECT h.id, (SELECT min(r.id) FROM resident r WHERE r.household_id = h.id)"
                " FROM household h JOIN building b ON b.id = h.building_id"
                " JOIN area g ON g.id = b.grid_id WHERE g.code = :g ORDER BY h.code LIMIT 1"
            ),
            {"g": scope},
        ).one()
    session.execute(
        text(
            "INSERT INTO app_user (username, password_hash, role, scope_code, household_id,"
            " resident_id) VALUES (:u, :h, :r, :s, :household, :person)"
        ),
        {
            "u": username,
            "h": password_hash(),
            "r": role,
            "s": scope,
            "household": household,
            "person": person,
        },
    )
    session.flush()
    account = get_account(session, username)
    assert account is not None
    return Viewer(
        username, role, viewer_scope(role, scope), account.id, household_id=account.household_id
    )


def token_for(
    session: Session,
    username: str,
    minutes: int = 30,
    kind: Literal["api", "cookie"] = "api",
    client: str | None = None,
) -> str:
    """A signed token of a new sign-in session of ``username`` (as the sign-in routes make)."""
    account = get_account(session, username)
    assert account is not None
    started = start_session(session, account, kind, timedelta(minutes=minutes), client=client)
    return create_token(account, timedelta(minutes=minutes), started.id)


def role_viewers(session: Session, areas: DemoAreas) -> dict[str, tuple[Viewer, dict[str, str]]]:
    """One account per role (plus the anonymous public) and the headers to act as it."""
    viewers: dict[str, tuple[Viewer, dict[str, str]]] = {"public": (ANONYMOUS, {})}
    for role in ROLES:
        username = f"t_{role}"
        viewer = add_account(session, username, role, scope_for(role, areas))
        viewers[role] = (viewer, {"Authorization": f"Bearer {token_for(session, username)}"})
    # A party member's account acts as his member record (as every real one is linked).
    session.connection().exec_driver_sql(LINK_FIRST_MEMBER_SQL, {"username": "t_party_member"})
    return viewers
