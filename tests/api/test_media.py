"""Photos over the API: upload limits, EXIF stripping, thumbnails, access, attaching to cases."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.scope import ANONYMOUS, Viewer
from gis.settings import get_settings
from tests.api.incident_helpers import ClientFor, client_for, grid_point, viewer
from tests.api.security_helpers import add_account
from tests.gis.media.photos import GPS_LAT, GPS_LON, gif, jpeg_with_gps, noise_png, png

__all__ = ["client_for"]


def _upload(
    client: TestClient, data: bytes, name: str = "photo.jpg", ctype: str = "image/jpeg"
) -> Any:
    return client.post("/api/v1/media", files={"file": (name, data, ctype)})


def _count(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM media")).scalar_one())


def _report(lon: float, lat: float, **extra: Any) -> dict[str, Any]:
    return {
        "category": "市容环境",
        "description": "道路积存垃圾渣土",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        **extra,
    }


def test_upload_strips_exif_keeps_the_position_in_the_record_and_serves_a_thumbnail(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    worker = client_for(add_account(db_session, "m_worker", "grid_worker", g.grid_code))
    r = _upload(worker, jpeg_with_gps(400, 300))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["url"] == f"/api/v1/media/{body['id']}" == r.headers["location"]
    assert body["thumbnail_url"] == f"/api/v1/media/{body['id']}/thumbnail"
    assert (body["content_type"], body["width"], body["height"]) == ("image/jpeg", 300, 400)
    assert body["position"] == {"lon": pytest.approx(GPS_LON), "lat": pytest.approx(GPS_LAT)}
    row = db_session.execute(
        text(
            "SELECT sha256, bytes, uploader, incident_id, ST_X(geom) AS lon, ST_Y(geom) AS lat"
            " FROM media WHERE id = :id"
        ),
        {"id": body["id"]},
    ).one()
    assert (row.uploader, row.incident_id) == ("grid_worker:m_worker", None)
    assert (row.lon, row.lat) == (pytest.approx(GPS_LON), pytest.approx(GPS_LAT))
    served = worker.get(body["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert len(served.content) == row.bytes == body["bytes"]
    image = Image.open(io.BytesIO(served.content))
    assert dict(image.getexif()) == {} and image.size == (300, 400)
    assert b"PhoneMaker" not in served.content and b"owner-secret" not in served.content
    # Immutable under its hash, but private: the uploader's browser only.
    assert served.headers["etag"] == f'"{row.sha256}"'
    assert served.headers["cache-control"].startswith("private")
    assert (
        worker.get(body["url"], headers={"If-None-Match": served.headers["etag"]}).status_code
        == 304
    )
    thumb = worker.get(body["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (240, 320)


def test_refusals_say_what_to_fix_and_write_nothing(
    db_session: Session, client_for: ClientFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = grid_point(db_session)
    worker = client_for(add_account(db_session, "m_worker", "grid_worker", g.grid_code))
    before = _count(db_session)
    cases = [
        # HTML named like a photo, declared as one: the content decides.
        (b"<html><script>alert(1)</script></html>", "photo.jpg", "image/jpeg", 415, "content"),
        (gif(), "photo.png", "image/png", 415, "JPEG, PNG or WebP"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, "IMG_0001.jpg", "image/jpeg", 415, "HEIC"),
        (jpeg_with_gps()[:700], "cut.jpg", "image/jpeg", 400, "damaged"),
        (b"", "empty.jpg", "image/jpeg", 400, "empty"),
    ]
    for data, name, ctype, status, words in cases:
        r = _upload(worker, data, name, ctype)
        assert r.status_code == status, (name, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert words in r.json()["detail"] and r.json()["parameter"] == "file"
    monkeypatch.setenv("GRIDGOV_MEDIA_MAX_BYTES", "20000")
    get_settings.cache_clear()
    big = _upload(worker, noise_png(120, 120), "big.png", "image/png")
    assert big.status_code == 413 and "at most 20,000" in big.json()["detail"]
    assert _upload(worker, png(), "small.png", "image/png").status_code == 201
    assert _count(db_session) == before + 1
    assert _upload(client_for(ANONYMOUS), png()).status_code == 403
    missing = worker.post("/api/v1/media", data={"nothing": "here"})
    assert missing.status_code == 422 and "file" in missing.json()["detail"]


def test_the_same_photo_twice_is_stored_once(db_session: Session, client_for: ClientFor) -> None:
    g = grid_point(db_session)
    worker = client_for(add_account(db_session, "m_worker", "grid_worker", g.grid_code))
    photo = jpeg_with_gps()
    a, b = _upload(worker, photo).json(), _upload(worker, photo).json()
    assert a["id"] != b["id"] and a["sha256"] == b["sha256"]
    media_dir = get_settings().media_dir
    assert isinstance(media_dir, Path)
    key = a["sha256"]
    assert (media_dir / key[:2] / key[2:4] / key).is_file()
    assert len(list(media_dir.rglob(key))) == 1


def test_a_photo_queued_offline_and_sent_twice_is_stored_once(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    worker = client_for(add_account(db_session, "m_offline", "grid_worker", g.grid_code))
    photo, key = {"file": ("a.jpg", jpeg_with_gps(), "image/jpeg")}, {"Idempotency-Key": "p-8d2e"}
    first = worker.post("/api/v1/media", files=photo, headers=key)
    assert first.status_code == 201, first.text
    again = worker.post("/api/v1/media", files=photo, headers=key)
    assert again.status_code == 201 and again.json() == first.json()
    before = _count(db_session)
    # The key reused for another photo is refused, and nothing is written.
    other = worker.post("/api/v1/media", files={"file": ("b.png", png(), "image/png")}, headers=key)
    assert other.status_code == 400 and other.json()["parameter"] == "Idempotency-Key"
    assert _count(db_session) == before
    # Keys are per uploader: a colleague's photo under the same key is his own.
    colleague = client_for(add_account(db_session, "m_offline2", "grid_worker", g.grid_code))
    theirs = colleague.post("/api/v1/media", files=photo, headers=key)
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    rows = db_session.execute(
        text("SELECT uploader FROM media WHERE client_id = 'p-8d2e' ORDER BY id")
    ).scalars()
    assert list(rows) == ["grid_worker:m_offline", "grid_worker:m_offline2"]


def _dispatched_case(db_session: Session, client_for: ClientFor, g: Any, worker: TestClient) -> int:
    operator = client_for(viewer("command_operator", g.district_code))
    iid = int(
        operator.post("/api/v1/incidents", json=_report(g.lon, g.lat)).json()["incident"]["id"]
    )
    for to in ("accepted", "registered", "dispatched"):
        r = operator.post(f"/api/v1/incidents/{iid}/transitions", json={"to": to})
        assert r.status_code == 200, r.text
    r = worker.post(f"/api/v1/incidents/{iid}/transitions", json={"to": "in_progress"})
    assert r.status_code == 200, r.text
    return iid


def test_feedback_photos_are_scoped_like_the_case_and_public_ones_are_public(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    other = grid_point(db_session, 1)
    me = add_account(db_session, "m_worker", "grid_worker", g.grid_code)
    worker = client_for(me)
    neighbour = client_for(add_account(db_session, "m_other", "grid_worker", other.grid_code))
    operator = client_for(Viewer("m_operator", "command_operator", g.district_code))
    anonymous = client_for(ANONYMOUS)
    inside, outside = _upload(worker, jpeg_with_gps()).json(), _upload(worker, png()).json()
    # Unattached: only the uploader.
    for client in (neighbour, operator, anonymous):
        assert client.get(inside["url"]).status_code == 404
        assert client.get(inside["thumbnail_url"]).status_code == 404
    iid = _dispatched_case(db_session, client_for, g, worker)
    # Someone else cannot attach my upload; nothing changes.
    theft = neighbour.post(
        f"/api/v1/incidents/{iid}/transitions", json={"to": "handled", "media": [inside["id"]]}
    )
    assert theft.status_code in (400, 403)
    done = worker.post(
        f"/api/v1/incidents/{iid}/transitions",
        json={"to": "handled", "media": [inside["id"]], "public_media": [outside["id"]]},
    )
    assert done.status_code == 200, done.text
    step = done.json()["history"][-1]
    assert step["attachments"] == [inside["url"]]
    assert step["photos"] == [
        {"id": inside["id"], "url": inside["url"], "thumbnail_url": inside["thumbnail_url"]}
    ]
    assert step["public_photos"][0]["url"] == outside["url"]
    rows = db_session.execute(
        text(
            "SELECT m.id, m.incident_id, m.public, t.to_status FROM media m"
            " JOIN incident_transition t ON t.id = m.transition_id"
            " WHERE m.id IN (:a, :b) ORDER BY m.id"
        ),
        {"a": inside["id"], "b": outside["id"]},
    ).all()
    assert [(r.incident_id, r.public, r.to_status) for r in rows] == [
        (iid, False, "handled"),
        (iid, True, "handled"),
    ]
    # Internal: the case's scope (the operator's district, the worker's grid), nobody else.
    assert operator.get(inside["url"]).status_code == 200
    assert worker.get(inside["thumbnail_url"]).status_code == 200
    assert neighbour.get(inside["url"]).status_code == 404
    assert anonymous.get(inside["url"]).status_code == 404
    # Public: everyone, cacheable by anyone.
    public = anonymous.get(outside["url"])
    assert public.status_code == 200 and public.headers["cache-control"].startswith("public")
    assert anonymous.get(outside["thumbnail_url"]).status_code == 200
    # An anonymous reader sees the public photo in the history, never the internal one.
    seen = anonymous.get(f"/api/v1/incidents/{iid}").json()["history"][-1]
    assert "photos" not in seen and seen["public_photos"][0]["id"] == outside["id"]
    # Attached once: a second step cannot take it again (sent back, the worker reports back anew).
    operator = client_for(viewer("command_operator", g.district_code))
    sent_back = operator.post(
        f"/api/v1/incidents/{iid}/transitions", json={"action": "rework", "note": "照片不清"}
    )
    assert sent_back.status_code == 200, sent_back.text
    again = worker.post(
        f"/api/v1/incidents/{iid}/transitions", json={"to": "handled", "media": [inside["id"]]}
    )
    assert again.status_code == 400 and again.json()["parameter"] == "media"


def test_report_photos_are_published_with_the_case(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session, 2)
    reporter = client_for(add_account(db_session, "m_reporter", "grid_worker", g.grid_code))
    photo = _upload(reporter, jpeg_with_gps()).json()
    r = reporter.post(
        "/api/v1/incidents", json=_report(g.lon, g.lat, source="grid_worker", media=[photo["id"]])
    )
    assert r.status_code == 201, r.text
    case = r.json()["incident"]
    assert case["media_url"] == photo["url"]
    assert case["history"][0]["public_photos"][0]["thumbnail_url"] == photo["thumbnail_url"]
    attached = db_session.execute(
        text("SELECT incident_id, public FROM media WHERE id = :id"), {"id": photo["id"]}
    ).one()
    assert (attached.incident_id, attached.public) == (case["id"], True)
    assert client_for(ANONYMOUS).get(photo["url"]).status_code == 200
    # Open311 publishes it as an absolute URL the app serves.
    listed = client_for(ANONYMOUS).get(f"/open311/v2/requests/{case['code']}.json").json()
    assert listed[0]["media_url"] == "http://testserver" + photo["url"]
