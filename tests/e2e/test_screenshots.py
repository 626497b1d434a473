"""``gridgov screenshots``: a live server on the demo city, each README page captured."""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import psycopg
import pytest

from gridgov.screenshots import CHROMIUM, PHONE, VIEWPORT, capture, local_server
from tests.conftest import unavailable

pytestmark = pytest.mark.browser  # launches Chromium itself, outside the `browser` fixture


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_screenshots_capture_each_page_signed_in_where_needed(
    demo_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not os.path.exists(CHROMIUM):
        unavailable(f"{CHROMIUM} is not installed")
    from gis.accounts import ensure_demo_accounts

    password = "screenshot-password-123"
    with psycopg.connect(demo_database_url) as conn:
        ensure_demo_accounts(conn, password)
        grid = conn.execute(
            "SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL ORDER BY code"
        ).fetchone()[0]  # type: ignore[index]
        conn.commit()
    # The server the command starts takes the database from the environment, as `gridgov serve`.
    monkeypatch.setenv("GRIDGOV_DATABASE_URL", demo_database_url)
    monkeypatch.setenv("GRIDGOV_ENVIRONMENT", "test")
    out = tmp_path / "img"
    with local_server() as url:
        written = capture(
            url,
            out,
            username="demo_admin",
            password=password,
            grid_code=grid,
            community_code=grid[:12],
        )
        assert [p.name for p in written] == [
            "map.png",
            "grid.png",
            "grid-phone.png",
            "command.png",
            "command_case.png",
            "plan.png",
            "field.png",
            "orglife.png",
        ]
        assert all(p.parent == out for p in written)
        for path in written:
            size = PHONE if path.name == "grid-phone.png" else VIEWPORT
            assert _png_size(path) == (size["width"], size["height"])
            assert path.stat().st_size > 10_000, f"{path.name} looks blank"
        assert len({hashlib.sha256(p.read_bytes()).hexdigest() for p in written}) == len(written)
        with psycopg.connect(demo_database_url) as conn:
            drafts = conn.execute(
                "SELECT status FROM changeset WHERE created_by = 'demo_admin' AND scope_code = %s",
                (grid[:12],),
            ).fetchall()
        assert drafts == [("discarded",)]  # the planner's picture leaves no open draft
        # The signed-in pages need a working sign-in: a wrong password stops the command.
        with pytest.raises(RuntimeError, match="signing in as demo_admin failed"):
            capture(
                url,
                tmp_path / "refused",
                username="demo_admin",
                password="not-the-password",
                grid_code=grid,
                community_code=grid[:12],
            )
