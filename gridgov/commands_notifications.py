"""``gridgov notifications send``: send the outbox's due deliveries (for cron)."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()


def register(app: typer.Typer) -> None:
    notifications_app = typer.Typer(help="Notifications: the outbox.", no_args_is_help=True)

    @notifications_app.command("send")
    def send(
        limit: int = typer.Option(100, min=1, max=10_000, help="At most this many deliveries."),
    ) -> None:
        """Send the deliveries that are due (one sender at a time: a running one wins)."""
        from gis.db import get_engine
        from gis.notifications.outbox import send_due

        report = send_due(get_engine(), limit=limit)
        if not report.locked:
            console.print("another sender is at work; nothing sent")
            return
        console.print(f"{report.sent} sent, {report.retrying} to retry, {report.failed} failed")

    app.add_typer(notifications_app, name="notifications")
