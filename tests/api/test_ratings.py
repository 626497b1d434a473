"""一事一评: the reporter rates his own case with his signed link or Open311 token, once, after
closing; staff cannot rate for him; forged, unknown and expired links say nothing of any case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.accounts import create_api_client
from gis.errors import Forbidden
from gis.incidents import rating, transitions
from gis.scope import ANONYMOUS
from tests.api.incident_helpers import ClientFor, client_for, grid_point, viewer, work_case

__all__ = ["client_for"]

ADMIN = viewer("admin", "620881")


def _report(session: Session, client_for: ClientFor) -> dict[str, Any]:
    g = grid_point(session)
    body = {
        "category": "市容环境",
        "description": "小区门口垃圾无人清运",
        "geometry": {"type": "Point", "coordinates": [g.lon, g.lat]},
        "reporter_name": "李四",
        "reporter_phone": "13700001111",
    }
    _, key = create_api_client(session, "rating-test-app")
    response = client_for(ANONYMOUS).post(
        "/api/v1/incidents", json=body, headers={"X-API-Key": key}
    )
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def _work(session: Session, incident_id: int, until: str) -> None:
    work_case(session, incident_id, until)


def _row(session: Session, incident_id: int) -> Any:
    return session.execute(
        text("SELECT status, rating FROM incident WHERE id = :i"), {"i": incident_id}
    ).one()


def test_the_reporter_rates_once_after_closing_with_his_link(
    db_session: Session, client_for: ClientFor
) -> None:
    created = _report(db_session, client_for)
    case, link = created["incident"], created["rating_link"]
    assert link.startswith("/rate/")
    credential = link.removeprefix("/rate/")
    anon = client_for(ANONYMOUS)

    # Before closing: the page data says why not, and a rating is a 409 with the reason.
    shown = anon.get(f"/api/v1/ratings/{credential}").json()
    assert (shown["code"], shown["status"], shown["can_rate"]) == (case["code"], "reported", False)
    assert "not closed" in shown["reason"]
    early = anon.post(f"/api/v1/ratings/{credential}", json={"rating": 5})
    assert early.status_code == 409 and "not closed" in early.json()["detail"], early.text
    _work(db_session, case["id"], "handled")
    assert anon.post(f"/api/v1/ratings/{credential}", json={"rating": 5}).status_code == 409
    assert _row(db_session, case["id"]) == ("handled", None)

    work_case(db_session, case["id"], "closed")
    assert anon.get(f"/api/v1/ratings/{credential}").json()["can_rate"] is True

    # Bad stars are refused with nothing written.
    for bad in ({"rating": 0}, {"rating": 6}, {"rating": 4, "comment": "长" * 501}):
        response = anon.post(f"/api/v1/ratings/{credential}", json=bad)
        assert response.status_code == 422, response.text
    assert _row(db_session, case["id"]) == ("closed", None)

    done = anon.post(
        f"/api/v1/ratings/{credential}", json={"rating": 4, "comment": "处理及时，态度好"}
    )
    assert done.status_code == 201, done.text
    assert done.json()["rating"] == 4 and done.json()["status"] == "evaluated"
    assert _row(db_session, case["id"]) == ("evaluated", 4)
    ((actor, frm, note, public_note),) = db_session.execute(
        text(
            "SELECT actor, from_status, note, public_note FROM incident_transition"
            " WHERE incident_id = :i AND to_status = 'evaluated'"
        ),
        {"i": case["id"]},
    ).all()
    assert (actor, frm, note, public_note) == (
        rating.ACTOR_LINK,
        "closed",
        "处理及时，态度好",
        "评价：4星",
    )
    # The stream hears of it.
    assert (
        db_session.execute(
            text(
                "SELECT count(*) FROM incident_event"
                " WHERE incident_id = :i AND status = 'evaluated'"
            ),
            {"i": case["id"]},
        ).scalar_one()
        == 1
    )
    # The comment is not published (it may name people): the public history shows the stars.
    shown = anon.get(f"/api/v1/ratings/{credential}").json()
    assert "处理及时" not in str(shown) and shown["rating"] == 4 and shown["rated_at"]

    # Once only.
    again = anon.post(f"/api/v1/ratings/{credential}", json={"rating": 1})
    assert again.status_code == 409 and "already been rated" in again.json()["detail"]
    assert _row(db_session, case["id"]) == ("evaluated", 4)


def test_the_open311_token_works_too_and_staff_cannot_rate(
    db_session: Session, client_for: ClientFor
) -> None:
    created = _report(db_session, client_for)
    case = created["incident"]
    _work(db_session, case["id"], "closed")
    # Staff may no longer record a rating on the reporter's behalf.
    for role in ("admin", "command_operator", "community_secretary"):
        with pytest.raises(Forbidden, match="reporter"):
            transitions.transition(
                db_session,
                viewer(role, "620881"),
                case["id"],
                transitions.TransitionInput(to="evaluated", rating=5),
            )
    staff = client_for(ADMIN).get(f"/api/v1/incidents/{case['id']}").json()
    assert staff["allowed_transitions"] == []
    token = db_session.execute(
        text("SELECT token::text FROM incident WHERE id = :i"), {"i": case["id"]}
    ).scalar_one()
    response = client_for(ANONYMOUS).post(f"/api/v1/ratings/{token}", json={"rating": 2})
    assert response.status_code == 201, response.text
    assert _row(db_session, case["id"]) == ("evaluated", 2)
    assert (
        db_session.execute(
            text(
                "SELECT actor FROM incident_transition WHERE incident_id = :i"
                " AND to_status = 'evaluated'"
            ),
            {"i": case["id"]},
        ).scalar_one()
        == rating.ACTOR_TOKEN
    )


def test_forged_unknown_and_expired_links_leak_nothing(
    db_session: Session, client_for: ClientFor
) -> None:
    created = _report(db_session, client_for)
    case = created["incident"]
    _work(db_session, case["id"], "closed")
    good = created["rating_link"].removeprefix("/rate/")
    incident_id, expires, signature = good.split(".")
    other_id = db_session.execute(
        text("SELECT min(id) FROM incident WHERE status = 'closed' AND id <> :i"),
        {"i": case["id"]},
    ).scalar_one()
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    forged = [
        f"{incident_id}.{expires}.{flipped}",  # a changed signature
        f"{other_id}.{expires}.{signature}",  # the signature moved to another case
        f"{incident_id}.{int(expires) + 86400}.{signature}",  # a longer life
        "00000000-0000-0000-0000-000000000000",  # nobody's Open311 token
        "not-a-token",
        "1.2.3",
    ]
    anon = client_for(ANONYMOUS)
    for credential in forged:
        for response in (
            anon.get(f"/api/v1/ratings/{credential}"),
            anon.post(f"/api/v1/ratings/{credential}", json={"rating": 5}),
        ):
            assert response.status_code == 404, (credential, response.text)
            body = response.text
            assert case["code"] not in body and "closed" not in body, body
        page = anon.get(f"/rate/{credential}")
        assert page.status_code == 404 and case["code"] not in page.text
        assert "评价链接无效" in page.text
    # A genuine link past its expiry: 403, still nothing about the case.
    old = rating.rating_token(case["id"], datetime.now(UTC) - rating.LINK_LIFETIME - timedelta(1))
    expired = anon.post(f"/api/v1/ratings/{old}", json={"rating": 5})
    assert expired.status_code == 403 and "expired" in expired.json()["detail"]
    assert case["code"] not in expired.text
    assert anon.get(f"/rate/{old}").status_code == 403
    assert _row(db_session, case["id"]) == ("closed", None)


def test_the_page_rates_without_javascript(db_session: Session, client_for: ClientFor) -> None:
    created = _report(db_session, client_for)
    case = created["incident"]
    link = created["rating_link"]
    anon = client_for(ANONYMOUS)
    page = anon.get(link)
    assert page.status_code == 200 and case["code"] in page.text
    assert "案件尚未办结" in page.text and "gg-rate-form" not in page.text
    _work(db_session, case["id"], "closed")
    page = anon.get(link)
    assert "gg-rate-form" in page.text and "您对这次办理满意吗" in page.text
    missing = anon.post(link, data={"comment": "没选星"})
    assert missing.status_code == 400 and "请先选择星级" in missing.text
    assert "没选星" in missing.text  # the comment typed is kept
    done = anon.post(link, data={"rating": "5", "comment": "很好"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"{link}?done=1"
    assert _row(db_session, case["id"]) == ("evaluated", 5)
    thanks = anon.get(done.headers["location"])
    assert "感谢您的评价" in thanks.text and 'data-rating="5"' in thanks.text
    again = anon.post(link, data={"rating": "1"})
    assert again.status_code == 409 and "已评价" in again.text
    assert _row(db_session, case["id"]) == ("evaluated", 5)
