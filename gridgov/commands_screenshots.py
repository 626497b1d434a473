"""``gridgov screenshots``: the README's pictures, taken from the demo city by a live server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command("screenshots")
    def screenshots(
        out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the PNG files")] = Path(
            "docs/img"
        ),
        user: Annotated[
            str, typer.Option("--user", help="Account for the signed-in pages")
        ] = "demo_admin",
        chromium: Annotated[str, typer.Option(help="Chromium executable")] = "/usr/bin/chromium",
    ) -> None:
        """Serve the demo city on a free port and capture the README's pages (screenshots.py).

        The password of --user comes from GRIDGOV_DEMO_PASSWORD, or is asked for.
        """
        from sqlalchemy import text

        from gis.db import session_scope
        from gis.settings import get_settings
        from gridgov.screenshots import capture, local_server

        password = get_settings().demo_password or typer.prompt(
            f"password of {user}", hide_input=True
        )
        with session_scope() as session:
            grid = session.execute(
                text(
                    "SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL "
                    "ORDER BY code LIMIT 1"
                )
            ).scalar()
        if grid is None:
            err.print("[bold red]error:[/] no grids in the database; run `gridgov demo` first")
            raise typer.Exit(code=1)
        try:
            with local_server() as url:
                written = capture(
                    url,
                    out,
                    username=user,
                    password=password,
                    grid_code=grid,
                    community_code=grid[:12],
                    chromium=chromium,
                )
        except RuntimeError as exc:
            err.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(code=1) from None
        for path in written:
            console.print(f"wrote {path}")
