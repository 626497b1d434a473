"""``gridgov incidents …``: the case loop's periodic jobs (run them from cron or a timer)."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()


def register(app: typer.Typer) -> None:
    incidents_app = typer.Typer(help="The incident case loop.", no_args_is_help=True)

    @incidents_app.command("escalate")
    def escalate() -> None:
        """Escalate every overdue open case one level up (grid → community → street → district)."""
        from gis.db import session_scope
        from gis.incidents.escalation import escalate_overdue

        with session_scope() as session:
            done = escalate_overdue(session)
        for e in done:
            console.print(f"incident {e['incident_id']}: {e['from']} → {e['to']}")
        console.print(f"{len(done)} case(s) escalated")

    app.add_typer(incidents_app, name="incidents")
