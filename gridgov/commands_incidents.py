"""``gridgov incidents …``: the case loop's periodic jobs (run them from cron or a timer)."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()


def register(app: typer.Typer) -> None:
    incidents_app = typer.Typer(help="The incident case loop.", no_args_is_help=True)

    @incidents_app.command("escalate")
    def escalate() -> None:
        """Escalate every overdue open case one level up (grid → community → street → district)
        and announce approaching deadlines: what the service does by itself every
        GRIDGOV_ESCALATION_INTERVAL_SECONDS (turn that off with GRIDGOV_ESCALATION_RUNNER=false
        to run this from cron instead)."""
        from gis.db import session_scope
        from gis.incidents.escalation_runner import sweep

        with session_scope() as session:
            result = sweep(session)
        if result is None:
            console.print("another sweep (the service's runner) is at work: nothing done")
            return
        for e in result.escalated:
            console.print(f"incident {e['incident_id']}: {e['from']} → {e['to']}")
        for d in result.due_soon:
            minutes = int(d["left"].total_seconds() // 60)
            console.print(f"incident {d['incident_id']}: {d['stage']} due in {minutes} working min")
        console.print(
            f"{len(result.escalated)} case(s) escalated, "
            f"{len(result.due_soon)} approaching deadline(s) announced"
        )

    app.add_typer(incidents_app, name="incidents")
