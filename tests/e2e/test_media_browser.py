"""A grid worker records 处置反馈 with a photo on his phone, in headless Chromium.

Uses the command-centre browser test's city (its own committed database and live server) and
browser. The photo is chosen with Playwright's ``set_input_files`` (what a phone's camera or
gallery hands the page), uploaded at once, attached by the step; the test then reads the
database and checks the thumbnail shown in the case's history opens the stored photo, whose
EXIF is gone.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.orm import Session

from gis.accounts import create_user
from gis.incidents import transitions
from gis.scope import Viewer
from tests.e2e.test_command_browser import PASSWORD, City, Operator, browser, city
from tests.gis.media.photos import jpeg_with_gps

__all__ = ["browser", "city"]
pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _case_in_progress(city: City, worker: str) -> tuple[int, str, str]:
    """A new case, accepted, registered and dispatched by the centre, taken on by ``worker`` (whose
    account is made for its grid)."""
    incident_id, code = city.report("处置反馈带照片：路灯杆倾斜")
    ((grid,),) = city.sql(
        "SELECT g.code FROM incident i JOIN area g ON g.id = i.grid_id WHERE i.id = %s",
        (incident_id,),
    )
    operator = Viewer("op_one", "command_operator", "620881")
    with Session(city.engine) as session:
        create_user(session, worker, PASSWORD, "grid_worker", grid)
        for to in ("accepted", "registered", "dispatched"):
            transitions.transition(session, operator, incident_id, transitions.TransitionInput(to))
        transitions.transition(
            session,
            Viewer(worker, "grid_worker", grid),
            incident_id,
            transitions.TransitionInput("in_progress"),
        )
        session.commit()
    return incident_id, code, grid


def test_a_worker_reports_back_with_a_photo_from_his_phone(browser: Any, city: City) -> None:
    incident_id, code, _ = _case_in_progress(city, "worker_photo")
    worker = Operator(browser, city, "worker_photo", **PHONE)
    try:
        page = worker.page
        page.click(".gg-panel-toggle")  # on a phone the panel starts closed
        worker.open_case(code)
        page.click("#gg-case button.gg-action[data-to='handled']")
        form = "#gg-case form.gg-action-form[data-to='handled']"
        page.wait_for_selector(form)
        page.set_input_files(
            f"{form} .gg-photo-picker input[type=file]",
            files=[{"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}],
        )
        page.wait_for_selector(f"{form} .gg-photo-list li[data-media-id] img", timeout=20_000)
        media_id = int(page.get_attribute(f"{form} .gg-photo-list li", "data-media-id") or 0)
        page.fill(f"{form} [name=note]", "已扶正并加固")
        page.click(f"{form} button[type=submit]")
        page.wait_for_selector("#gg-case .gg-case[data-status='handled']", timeout=20_000)

        # Stored and attached to the 处置反馈 step, internal to the case's scope, the camera's
        # position kept in the record.
        rows = city.sql(
            "SELECT m.id, m.uploader, m.public, m.incident_id, t.to_status, t.note,"
            " m.geom IS NOT NULL FROM media m JOIN incident_transition t ON t.id = m.transition_id"
            " WHERE m.incident_id = %s",
            (incident_id,),
        )
        assert rows == [
            (
                media_id,
                "grid_worker:worker_photo",
                False,
                incident_id,
                "handled",
                "已扶正并加固",
                True,
            )
        ]
        # The history shows the thumbnail (loaded), which opens the full photo.
        thumb = "#gg-case .gg-timeline li[data-to='handled'] a.gg-photo"
        page.wait_for_function(
            "sel => { const i = document.querySelector(sel);"
            " return i && i.complete && i.naturalWidth > 0; }",
            arg=f"{thumb} img",
            timeout=20_000,
        )
        assert page.get_attribute(thumb, "href") == f"/api/v1/media/{media_id}"
        assert page.get_attribute(f"{thumb} img", "src") == f"/api/v1/media/{media_id}/thumbnail"
        width = page.eval_on_selector(f"{thumb} img", "i => i.naturalWidth")
        assert 0 < width <= 320
        full = page.request.get(f"{city.server.url}/api/v1/media/{media_id}")
        assert full.status == 200 and full.headers["content-type"] == "image/jpeg"
        assert dict(Image.open(io.BytesIO(full.body())).getexif()) == {}
        assert worker.errors == [], worker.errors
        assert worker.failed == [], worker.failed
    finally:
        worker.close()
