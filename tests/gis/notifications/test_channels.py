"""Channel configuration and choice, and the CLI sender (no database needed for the first)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from gis.notifications.channels import channels_for
from gis.settings import NotificationChannel, Settings, get_settings


def _channels(monkeypatch: pytest.MonkeyPatch, value: object, **env: str) -> Settings:
    monkeypatch.setenv("GRIDGOV_NOTIFY_CHANNELS", json.dumps(value))
    for key, v in env.items():
        monkeypatch.setenv(f"GRIDGOV_{key.upper()}", v)
    get_settings.cache_clear()
    return get_settings()


@pytest.mark.parametrize(
    ("channels", "env", "message"),
    [
        ([{"name": "w", "kind": "webhook"}], {}, "notification channel w: a webhook needs a url"),
        (
            [{"name": "m", "kind": "smtp", "to": ["a@b.example"]}],
            {},
            "an smtp notification channel needs GRIDGOV_SMTP_HOST",
        ),
        ([{"name": "s", "kind": "sms", "url": "http://127.0.0.1:1/sms"}], {}, "needs 'to'"),
        (
            [{"name": "a", "kind": "webhook", "url": "http://x.example/1"}] * 2,
            {},
            "each channel needs its own name",
        ),
        ([{"name": "Bad Name", "kind": "webhook", "url": "http://x.example"}], {}, "name"),
        ([{"name": "f", "kind": "webhook", "url": "ftp://x.example"}], {}, "url"),
        (
            [{"name": "t", "kind": "webhook", "url": "http://x.example", "triggers": ["x"]}],
            {},
            "triggers",
        ),
    ],
)
def test_a_wrong_channel_stops_the_start_with_what_to_fix(
    monkeypatch: pytest.MonkeyPatch, channels: object, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        _channels(monkeypatch, channels, **env)
    assert message in str(caught.value)


def test_channels_are_chosen_by_trigger_area_and_department(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _channels(
        monkeypatch,
        [
            {"name": "all", "kind": "webhook", "url": "http://x.example/a"},
            {
                "name": "street",
                "kind": "webhook",
                "url": "http://x.example/b",
                "area": "620881001000",
            },
            {
                "name": "escalations",
                "kind": "webhook",
                "url": "http://x.example/c",
                "triggers": ["escalation"],
            },
            {
                "name": "dept",
                "kind": "webhook",
                "url": "http://x.example/d",
                "departments": ["城管执法局"],
            },
            {"name": "mail", "kind": "smtp", "to": ["duty@city.example"]},
        ],
        smtp_host="127.0.0.1",
    )
    chosen = [
        c.name
        for c in channels_for(settings.notify_channels, "dispatch", "620881001002003", "城管执法局")
    ]
    assert chosen == ["all", "street", "dept", "mail"]
    chosen = [
        c.name for c in channels_for(settings.notify_channels, "escalation", "620881002001", None)
    ]
    assert chosen == ["all", "escalations", "mail"]
    # A department channel takes dispatches to its department only.
    assert "dept" not in [
        c.name for c in channels_for(settings.notify_channels, "due_soon", None, "城管执法局")
    ]
    assert all(isinstance(c, NotificationChannel) for c in settings.notify_channels)
