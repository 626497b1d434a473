"""Volunteers and their points (志愿服务与爱心储蓄): teams, activities, sign-up, check-in,
hours, the points ledger, rewards and rankings. The one writer of all of them.

An activity is organised by a team of a community. Residents of that community sign up on their
link (up to the capacity) and, on site, check in with the six-digit code the organiser shows
(from :data:`~gis.residents.vocabulary.CHECKIN_EARLY_MINUTES` before the start to the end).
When the organiser completes the activity, every volunteer who checked in earns its hours and
points: one ``earn`` row each in ``points_ledger``. Points buy the community's listed rewards:
a redemption is a negative ``redeem`` row. The ledger is append-only and the database itself
keeps every balance at zero or above (migration 0033: a trigger computes the balance after each
row under a per-resident lock, a CHECK refuses a negative one), so two redemptions racing for
the last points cannot both pass; the loser gets a Conflict here.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gis import audit
from gis.errors import Conflict, InvalidInput, NotFound
from gis.masking import Exposure
from gis.queries.households import effective_area, subtree_prefix
from gis.residents import vocabulary
from gis.residents.access import (
    HOME_GRID_JOIN,
    STAFF_READERS,
    VOLUNTEER_ORGANISERS,
    ResidentActor,
    check_area,
    check_role,
    shown_name,
)
from gis.scope import Viewer

NAME_MAX = 50
TITLE_MAX = 100
PLACE_MAX = 100
DESCRIPTION_MAX = 2000
RANKING_MAX = 50


def _community(session: Session, code: str, parameter: str = "community_code") -> str:
    found = session.execute(
        text("SELECT name FROM area WHERE code = :c AND level = 'community' AND valid_to IS NULL"),
        {"c": code},
    ).scalar_one_or_none()
    if found is None:
        raise InvalidInput(f"{code} is not a current community", parameter=parameter)
    return str(found)


def _text(value: str, name: str, limit: int, *, required: bool = True) -> str:
    stripped = value.strip()
    if (required and not stripped) or len(stripped) > limit:
        low = 1 if required else 0
        raise InvalidInput(f"{name} needs {low} to {limit} characters", parameter=name)
    return stripped


# --- teams ------------------------------------------------------------------------------------


def teams(session: Session, within: str) -> list[dict[str, Any]]:
    """Volunteer teams of the communities under ``within`` (public facts: no people)."""
    rows = session.execute(
        text(
            "SELECT t.id, t.community_code, t.name, t.description,"
            " (SELECT count(*) FROM volunteer_activity a WHERE a.team_id = t.id) AS activities,"
            " (SELECT count(DISTINCT s.resident_id) FROM volunteer_activity a"
            "   JOIN activity_signup s ON s.activity_id = a.id WHERE a.team_id = t.id"
            "   AND s.checked_in_at IS NOT NULL) AS volunteers"
            " FROM volunteer_team t WHERE t.community_code LIKE :p ORDER BY t.community_code, t.id"
        ),
        {"p": subtree_prefix(within) + "%"},
    ).all()
    return [
        {
            "id": r.id,
            "community_code": r.community_code,
            "name": r.name,
            "description": r.description,
            "activities": int(r.activities),
            "volunteers": int(r.volunteers),
        }
        for r in rows
    ]


def create_team(
    session: Session, viewer: Viewer, community_code: str, name: str, description: str = ""
) -> dict[str, Any]:
    check_role(viewer, VOLUNTEER_ORGANISERS, "create volunteer teams")
    name = _text(name, "name", NAME_MAX)
    description = _text(description, "description", 1000, required=False)
    _community(session, community_code)
    check_area(viewer, community_code, "community_code")
    new_id = session.execute(
        text(
            "INSERT INTO volunteer_team (community_code, name, description, created_by)"
            " VALUES (:c, :n, :d, :by) ON CONFLICT (community_code, name) DO NOTHING RETURNING id"
        ),
        {"c": community_code, "n": name, "d": description, "by": viewer.username},
    ).scalar_one_or_none()
    if new_id is None:
        raise Conflict(f"the community already has a team named {name}", parameter="name")
    return next(t for t in teams(session, community_code) if t["id"] == new_id)


# --- activities -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityInput:
    team_id: int
    title: str
    place: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    capacity: int
    hours: Decimal
    points: int | None = None
    description: str = ""

    def validate(self) -> None:
        _text(self.title, "title", TITLE_MAX)
        _text(self.place, "place", PLACE_MAX)
        _text(self.description, "description", DESCRIPTION_MAX, required=False)
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise InvalidInput("starts_at and ends_at need a time zone", parameter="starts_at")
        if self.ends_at <= self.starts_at:
            raise InvalidInput("ends_at must be after starts_at", parameter="ends_at")
        if not 1 <= self.capacity <= 1000:
            raise InvalidInput("capacity must be between 1 and 1000", parameter="capacity")
        if not Decimal("0.5") <= self.hours <= 24 or self.hours * 2 % 1:
            raise InvalidInput("hours must be 0.5 to 24 in half hours", parameter="hours")
        if self.points is not None and not 0 <= self.points <= 1000:
            raise InvalidInput("points must be between 0 and 1000", parameter="points")

    @property
    def earned(self) -> int:
        """The points each volunteer earns: as given, else hours × POINTS_PER_HOUR."""
        if self.points is not None:
            return self.points
        return int(self.hours * vocabulary.POINTS_PER_HOUR)


_ACTIVITY_SQL = """
    SELECT a.*, t.name AS team_name,
           (SELECT count(*) FROM activity_signup s WHERE s.activity_id = a.id) AS signed_up,
           (SELECT count(*) FROM activity_signup s WHERE s.activity_id = a.id
             AND s.checked_in_at IS NOT NULL) AS checked_in
    FROM volunteer_activity a JOIN volunteer_team t ON t.id = a.team_id
"""


def _activity(row: Any, *, organiser: bool, lang: str = "zh-CN") -> dict[str, Any]:
    out = {
        "id": row.id,
        "team_id": row.team_id,
        "team_name": row.team_name,
        "community_code": row.community_code,
        "title": row.title,
        "place": row.place,
        "description": row.description,
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(),
        "capacity": row.capacity,
        "hours": float(row.hours),
        "points": row.points,
        "status": row.status,
        "status_label": vocabulary.label(vocabulary.ACTIVITY_STATUSES, row.status, lang),
        "signed_up": int(row.signed_up),
        "checked_in": int(row.checked_in),
    }
    if organiser:
        out["checkin_code"] = row.checkin_code
    return out


def _organises(viewer: Viewer, community_code: str) -> bool:
    return viewer.role in VOLUNTEER_ORGANISERS and viewer.covers(community_code)


def create_activity(session: Session, viewer: Viewer, data: ActivityInput) -> dict[str, Any]:
    check_role(viewer, VOLUNTEER_ORGANISERS, "organise volunteer activities")
    data.validate()
    team = session.execute(
        text("SELECT community_code FROM volunteer_team WHERE id = :id"), {"id": data.team_id}
    ).scalar_one_or_none()
    if team is None:
        raise InvalidInput(f"no volunteer team {data.team_id}", parameter="team_id")
    check_area(viewer, team, "team_id")
    new_id = session.execute(
        text(
            "INSERT INTO volunteer_activity (team_id, community_code, title, place, description,"
            " starts_at, ends_at, capacity, hours, points, checkin_code, created_by) VALUES"
            " (:team, :c, :title, :place, :d, :s, :e, :cap, :h, :p, :code, :by) RETURNING id"
        ),
        {
            "team": data.team_id,
            "c": team,
            "title": data.title.strip(),
            "place": data.place.strip(),
            "d": data.description.strip(),
            "s": data.starts_at,
            "e": data.ends_at,
            "cap": data.capacity,
            "h": data.hours,
            "p": data.earned,
            "code": f"{secrets.randbelow(1_000_000):06d}",
            "by": viewer.username,
        },
    ).scalar_one()
    return activity(session, viewer, int(new_id))


def list_activities(
    session: Session,
    viewer: Viewer,
    *,
    within: str | None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Activities of the communities under ``within`` (the viewer's scope when signed in, the
    whole city for the public): public facts only, plus the check-in code for organisers."""
    if status is not None and status not in vocabulary.ACTIVITY_STATUSES:
        raise InvalidInput(
            "status must be one of " + ", ".join(vocabulary.ACTIVITY_STATUSES),
            parameter="status",
        )
    # A resident's account has no area scope: it lists like the public.
    unscoped = viewer.is_public or viewer.scope_code is None
    area = (within or "") if unscoped else effective_area(viewer, within)
    rows = session.execute(
        text(
            _ACTIVITY_SQL + " WHERE a.community_code LIKE :p AND (CAST(:status AS text) IS NULL"
            " OR a.status = :status) ORDER BY a.starts_at DESC, a.id DESC"
            " LIMIT :limit OFFSET :offset"
        ),
        {"p": subtree_prefix(area) + "%", "status": status, "limit": limit, "offset": offset},
    ).all()
    return {
        "within": area or None,
        "items": [_activity(r, organiser=_organises(viewer, r.community_code)) for r in rows],
        "limit": limit,
        "offset": offset,
    }


def _activity_row(session: Session, activity_id: int, lock: bool = False) -> Any:
    row = session.execute(
        text(_ACTIVITY_SQL + " WHERE a.id = :id"), {"id": activity_id}
    ).one_or_none()
    if row is None:
        raise NotFound(f"no volunteer activity {activity_id}", parameter="activity_id")
    if lock:
        session.execute(
            text("SELECT 1 FROM volunteer_activity WHERE id = :id FOR UPDATE"), {"id": activity_id}
        )
    return row


def activity(session: Session, viewer: Viewer, activity_id: int) -> dict[str, Any]:
    """One activity with its volunteers (names by the disclosure rule, audited)."""
    check_role(viewer, STAFF_READERS, "see who volunteers")
    row = _activity_row(session, activity_id)
    if not viewer.covers(row.community_code):
        raise NotFound(
            f"no volunteer activity {activity_id} in your scope", parameter="activity_id"
        )
    people = session.execute(
        text(
            "SELECT s.resident_id, s.signed_up_at, s.checked_in_at, r.name, g.code AS grid_code"
            " FROM activity_signup s JOIN resident r ON r.id = s.resident_id"
            + HOME_GRID_JOIN
            + " WHERE s.activity_id = :id"
            " ORDER BY s.signed_up_at, s.resident_id"
        ),
        {"id": activity_id},
    ).all()
    shown: list[str] = []
    volunteers = []
    for p in people:
        name, level = shown_name(viewer, p.resident_id, p.name, p.grid_code, shown)
        volunteers.append(
            {
                "resident_id": p.resident_id,
                "name": name,
                "signed_up_at": p.signed_up_at.isoformat(),
                "checked_in_at": p.checked_in_at.isoformat() if p.checked_in_at else None,
                "masked": level is not Exposure.EXACT,
            }
        )
    audit.disclose(
        session,
        viewer,
        f"volunteer_activity:{activity_id}",
        subjects=shown,
        area_code=row.community_code,
    )
    return {
        **_activity(row, organiser=_organises(viewer, row.community_code)),
        "volunteers": volunteers,
    }


def complete(session: Session, viewer: Viewer, activity_id: int) -> dict[str, Any]:
    """The organiser completes an activity: each volunteer who checked in earns its hours and
    points (one ledger row each; completing twice is refused)."""
    check_role(viewer, VOLUNTEER_ORGANISERS, "complete volunteer activities")
    row = _activity_row(session, activity_id, lock=True)
    check_area(viewer, row.community_code, "activity_id")
    if row.status != "open":
        raise Conflict(
            f"the activity is {row.status}; only an open activity can be completed",
            parameter="activity_id",
        )
    session.execute(
        text(
            "UPDATE volunteer_activity SET status = 'completed', completed_at = now(),"
            " completed_by = :by WHERE id = :id"
        ),
        {"id": activity_id, "by": viewer.username},
    )
    if row.points > 0:
        # One row per volunteer, in resident order (the ledger trigger locks per resident).
        session.execute(
            text(
                "INSERT INTO points_ledger (resident_id, community_code, kind, delta, hours,"
                " activity_id, balance_after, note, recorded_by)"
                " SELECT s.resident_id, :c, 'earn', :p, :h, :a, 0, :note, :by"
                " FROM activity_signup s WHERE s.activity_id = :a"
                " AND s.checked_in_at IS NOT NULL ORDER BY s.resident_id"
            ),
            {
                "c": row.community_code,
                "p": row.points,
                "h": row.hours,
                "a": activity_id,
                "note": row.title[:500],
                "by": viewer.username,
            },
        )
    return activity(session, viewer, activity_id)


# --- the resident's side ------------------------------------------------------------------------


def _resident_activity(row: Any, actor_row: Any) -> dict[str, Any]:
    return {
        **_activity(row, organiser=False),
        "signed_up_at": actor_row.signed_up_at.isoformat() if actor_row else None,
        "checked_in_at": (
            actor_row.checked_in_at.isoformat() if actor_row and actor_row.checked_in_at else None
        ),
    }


def for_resident(
    session: Session, actor: ResidentActor, *, now: datetime.datetime
) -> list[dict[str, Any]]:
    """Activities of the resident's community that have not ended, and those he joined."""
    rows = session.execute(
        text(
            _ACTIVITY_SQL + " LEFT JOIN LATERAL (SELECT s.signed_up_at, s.checked_in_at"
            " FROM activity_signup s WHERE s.activity_id = a.id AND s.resident_id = :r) mine"
            " ON true"
            " WHERE a.community_code = :c AND (a.ends_at >= :now AND a.status = 'open'"
            " OR mine.signed_up_at IS NOT NULL) ORDER BY a.starts_at DESC LIMIT 50"
        ),
        {"r": actor.resident_id, "c": actor.community_code, "now": now},
    ).all()
    mine = {
        r.activity_id: r
        for r in session.execute(
            text(
                "SELECT activity_id, signed_up_at, checked_in_at FROM activity_signup"
                " WHERE resident_id = :r"
            ),
            {"r": actor.resident_id},
        ).all()
    }
    return [_resident_activity(r, mine.get(r.id)) for r in rows]


def sign_up(
    session: Session, actor: ResidentActor, activity_id: int, *, now: datetime.datetime
) -> dict[str, Any]:
    """A resident signs up for an open activity of his community (once; up to its capacity)."""
    row = _activity_row(session, activity_id, lock=True)
    if row.community_code != actor.community_code:
        raise NotFound(
            f"no volunteer activity {activity_id} in your community", parameter="activity_id"
        )
    if row.status != "open" or row.ends_at <= now:
        raise Conflict("this activity is no longer open for sign-up", parameter="activity_id")
    created = session.execute(
        text(
            "INSERT INTO activity_signup (activity_id, resident_id, via)"
            " SELECT :a, :r, :via WHERE (SELECT count(*) FROM activity_signup"
            " WHERE activity_id = :a) < :cap"
            " ON CONFLICT (activity_id, resident_id) DO NOTHING RETURNING resident_id"
        ),
        {"a": activity_id, "r": actor.resident_id, "via": actor.via, "cap": row.capacity},
    ).scalar_one_or_none()
    if created is None:
        already = session.execute(
            text("SELECT 1 FROM activity_signup WHERE activity_id = :a AND resident_id = :r"),
            {"a": activity_id, "r": actor.resident_id},
        ).first()
        if already is None:
            raise Conflict(
                f"the activity is full ({row.capacity} volunteers)", parameter="activity_id"
            )
    return _mine(session, actor, activity_id)


def _mine(session: Session, actor: ResidentActor, activity_id: int) -> dict[str, Any]:
    row = _activity_row(session, activity_id)
    me = session.execute(
        text(
            "SELECT signed_up_at, checked_in_at FROM activity_signup"
            " WHERE activity_id = :a AND resident_id = :r"
        ),
        {"a": activity_id, "r": actor.resident_id},
    ).one_or_none()
    return _resident_activity(row, me)


def check_in(
    session: Session,
    actor: ResidentActor,
    activity_id: int,
    code: str,
    *,
    now: datetime.datetime,
) -> dict[str, Any]:
    """A resident who signed up checks in on site with the organiser's code."""
    row = _activity_row(session, activity_id)
    if row.community_code != actor.community_code:
        raise NotFound(
            f"no volunteer activity {activity_id} in your community", parameter="activity_id"
        )
    me = session.execute(
        text(
            "SELECT checked_in_at FROM activity_signup WHERE activity_id = :a AND resident_id = :r"
        ),
        {"a": activity_id, "r": actor.resident_id},
    ).one_or_none()
    if me is None:
        raise Conflict("sign up for the activity before checking in", parameter="activity_id")
    if me.checked_in_at is None:
        opens = row.starts_at - datetime.timedelta(minutes=vocabulary.CHECKIN_EARLY_MINUTES)
        if row.status != "open" or not opens <= now <= row.ends_at:
            raise Conflict(
                f"check-in is open from {vocabulary.CHECKIN_EARLY_MINUTES} minutes before the "
                "start until the end of an open activity",
                parameter="activity_id",
            )
        if not secrets.compare_digest(code.strip(), row.checkin_code):
            raise InvalidInput(
                "the check-in code is wrong; ask the organiser for the code", parameter="code"
            )
        session.execute(
            text(
                "UPDATE activity_signup SET checked_in_at = :now"
                " WHERE activity_id = :a AND resident_id = :r AND checked_in_at IS NULL"
            ),
            {"a": activity_id, "r": actor.resident_id, "now": now},
        )
    return _mine(session, actor, activity_id)


# --- points -----------------------------------------------------------------------------------


def balance(session: Session, resident_id: int) -> int:
    value = session.execute(
        text(
            "SELECT balance_after FROM points_ledger WHERE resident_id = :r ORDER BY id DESC"
            " LIMIT 1"
        ),
        {"r": resident_id},
    ).scalar_one_or_none()
    return int(value or 0)


def points_for_resident(session: Session, actor: ResidentActor) -> dict[str, Any]:
    """A resident's balance, hours and ledger (newest first)."""
    rows = session.execute(
        text(
            "SELECT id, kind, delta, hours, balance_after, note, recorded_at FROM points_ledger"
            " WHERE resident_id = :r ORDER BY id DESC LIMIT 100"
        ),
        {"r": actor.resident_id},
    ).all()
    hours = session.execute(
        text("SELECT coalesce(sum(hours), 0) FROM points_ledger WHERE resident_id = :r"),
        {"r": actor.resident_id},
    ).scalar_one()
    return {
        "balance": int(rows[0].balance_after) if rows else 0,
        "hours": float(hours),
        "ledger": [
            {
                "id": r.id,
                "kind": r.kind,
                "kind_label": vocabulary.label(vocabulary.LEDGER_KINDS, r.kind),
                "delta": r.delta,
                "hours": float(r.hours),
                "balance_after": r.balance_after,
                "note": r.note,
                "at": r.recorded_at.isoformat(),
            }
            for r in rows
        ],
    }


def rewards(session: Session, community_code: str) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "SELECT id, community_code, name, description, points, stock FROM points_reward"
            " WHERE community_code = :c AND active ORDER BY points, id"
        ),
        {"c": community_code},
    ).all()
    return [
        {
            "id": r.id,
            "community_code": r.community_code,
            "name": r.name,
            "description": r.description,
            "points": r.points,
            "stock": r.stock,
        }
        for r in rows
    ]


def create_reward(
    session: Session,
    viewer: Viewer,
    community_code: str,
    name: str,
    points: int,
    stock: int | None,
    description: str = "",
) -> dict[str, Any]:
    check_role(viewer, VOLUNTEER_ORGANISERS, "list rewards")
    name = _text(name, "name", NAME_MAX)
    description = _text(description, "description", 500, required=False)
    if not 1 <= points <= 100_000:
        raise InvalidInput("points must be between 1 and 100000", parameter="points")
    if stock is not None and not 0 <= stock <= 1_000_000:
        raise InvalidInput("stock must be between 0 and 1000000 (or absent)", parameter="stock")
    _community(session, community_code)
    check_area(viewer, community_code, "community_code")
    new_id = session.execute(
        text(
            "INSERT INTO points_reward (community_code, name, description, points, stock)"
            " VALUES (:c, :n, :d, :p, :s) ON CONFLICT (community_code, name) DO NOTHING"
            " RETURNING id"
        ),
        {"c": community_code, "n": name, "d": description, "p": points, "s": stock},
    ).scalar_one_or_none()
    if new_id is None:
        raise Conflict(f"the community already lists a reward named {name}", parameter="name")
    return next(r for r in rewards(session, community_code) if r["id"] == new_id)


def redeem(session: Session, actor: ResidentActor, reward_id: int) -> dict[str, Any]:
    """A resident redeems points for a reward of his community: a negative ledger row.

    The database refuses a row that would take the balance below zero (see the module's
    docstring); that refusal, raced or not, is a Conflict saying how many points he has.
    """
    reward = session.execute(
        text(
            "SELECT id, name, points, stock, community_code FROM points_reward"
            " WHERE id = :id AND active"
        ),
        {"id": reward_id},
    ).one_or_none()
    if reward is None or reward.community_code != actor.community_code:
        raise NotFound(f"no reward {reward_id} in your community", parameter="reward_id")
    left = session.execute(
        text(
            "UPDATE points_reward SET stock = stock - 1 WHERE id = :id"
            " AND (stock IS NULL OR stock > 0) RETURNING id"
        ),
        {"id": reward_id},
    ).scalar_one_or_none()
    if left is None:
        raise Conflict(f"{reward.name} is out of stock", parameter="reward_id")
    try:
        with session.begin_nested():
            session.execute(
                text(
                    "INSERT INTO points_ledger (resident_id, community_code, kind, delta,"
                    " reward_id, balance_after, note, recorded_by)"
                    " VALUES (:r, :c, 'redeem', :d, :reward, 0, :note, :by)"
                ),
                {
                    "r": actor.resident_id,
                    "c": actor.community_code,
                    "d": -int(reward.points),
                    "reward": reward_id,
                    "note": reward.name,
                    "by": actor.label,
                },
            )
    except IntegrityError as exc:
        if "balance_after" not in str(exc.orig) and "points_ledger_check" not in str(exc.orig):
            raise
        raise Conflict(
            f"{reward.name} needs {reward.points} points; you have "
            f"{balance(session, actor.resident_id)}",
            parameter="reward_id",
        ) from None
    return points_for_resident(session, actor)


def ranking(
    session: Session, viewer: Viewer, community_code: str, *, limit: int = 20
) -> dict[str, Any]:
    """Volunteers of a community by points earned there (and hours); names by the rule."""
    name = session.execute(
        text("SELECT name FROM area WHERE code = :c AND level = 'community' AND valid_to IS NULL"),
        {"c": community_code},
    ).scalar_one_or_none()
    if name is None:
        raise NotFound(f"no community {community_code}", parameter="code")
    if not 1 <= limit <= RANKING_MAX:
        raise InvalidInput(f"limit must be between 1 and {RANKING_MAX}", parameter="limit")
    rows = session.execute(
        text(
            "SELECT l.resident_id, sum(l.delta) AS points, sum(l.hours) AS hours,"
            " count(*) AS activities, r.name, g.code AS grid_code"
            " FROM points_ledger l JOIN resident r ON r.id = l.resident_id"
            + HOME_GRID_JOIN
            + " WHERE l.community_code = :c AND l.kind = 'earn'"
            " GROUP BY l.resident_id, r.name, g.code ORDER BY points DESC, hours DESC,"
            " l.resident_id LIMIT :limit"
        ),
        {"c": community_code, "limit": limit},
    ).all()
    shown: list[str] = []
    items = []
    for rank, r in enumerate(rows, start=1):
        name, level = shown_name(viewer, r.resident_id, r.name, r.grid_code, shown)
        items.append(
            {
                "rank": rank,
                "name": name,
                "points": int(r.points),
                "hours": float(r.hours),
                "activities": int(r.activities),
                "masked": level is not Exposure.EXACT,
            }
        )
    audit.disclose(
        session,
        viewer,
        f"volunteer_ranking:{community_code}",
        subjects=shown,
        area_code=community_code,
    )
    return {"community": {"code": community_code, "name": name}, "items": items}
