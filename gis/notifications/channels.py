"""Outside channels behind one small interface: a webhook (企业微信/钉钉 group robots or any
HTTP endpoint), SMTP mail, and an SMS gateway.

A channel is configured in ``GRIDGOV_NOTIFY_CHANNELS`` (:class:`gis.settings.NotificationChannel`)
and built by :func:`build_channel` from the kind in :data:`CHANNEL_KINDS`. It is handed one
:class:`Delivery` at a time and answers a :class:`SendResult`; it never raises for a failed
send (the outbox records the error and retries with backoff). Every send carries the delivery's
id as its idempotency key (``Idempotency-Key`` header, or the mail's ``Message-ID``) so a
receiver can drop the repeat of a send whose answer was lost.

Adding a channel: write a class with ``send(delivery) -> SendResult``, add a factory to
:data:`CHANNEL_KINDS` and the kind to ``NotificationChannel.kind`` (docs/notifications.md).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol

import httpx

from gis.notifications.messages import Message
from gis.scope import subtree_code_prefix
from gis.settings import NotificationChannel, Settings

USER_AGENT = "gridgov-notifications/1"
# An error text is kept to this length in the attempt log.
MAX_ERROR = 500


@dataclass(frozen=True)
class Delivery:
    """One message to send on one channel; ``id`` is its idempotency key."""

    id: str
    trigger: str
    message: Message
    data: dict[str, Any]


@dataclass(frozen=True)
class SendResult:
    """What came of one attempt: ``ok``, the receiver's status code, the error if any."""

    ok: bool
    response_code: int | None = None
    error: str | None = None


class Channel(Protocol):
    """An outside channel: sends one delivery, never raises for a failed send."""

    def send(self, delivery: Delivery) -> SendResult: ...


def robot_payload(format: str, markdown: bool, delivery: Delivery) -> dict[str, Any]:
    """The JSON body of a webhook: 企业微信 and 钉钉 group robots take ``msgtype`` text or
    markdown; ``generic`` receivers get the message and its data.

    >>> d = Delivery("d1", "dispatch", Message("【派遣】事件 E1 市容环境", ("期限：无",)), {})
    >>> robot_payload("wecom", False, d)
    {'msgtype': 'text', 'text': {'content': '【派遣】事件 E1 市容环境\\n期限：无'}}
    >>> robot_payload("dingtalk", True, d)["markdown"]["title"]
    '【派遣】事件 E1 市容环境'
    """
    message = delivery.message
    if format == "wecom":
        if markdown:
            return {"msgtype": "markdown", "markdown": {"content": message.markdown}}
        return {"msgtype": "text", "text": {"content": message.text}}
    if format == "dingtalk":
        if markdown:
            return {
                "msgtype": "markdown",
                "markdown": {"title": message.title, "text": message.markdown},
            }
        return {"msgtype": "text", "text": {"content": message.text}}
    return {
        "id": delivery.id,
        "trigger": delivery.trigger,
        "title": message.title,
        "text": message.text,
        "data": delivery.data,
    }


def _short(error: object) -> str:
    return f"{error.__class__.__name__}: {error}"[:MAX_ERROR]


def post_json(
    url: str, body: dict[str, Any], idempotency_key: str, timeout: float, robot: bool
) -> SendResult:
    """POST ``body`` as JSON; 2xx is success, and for robots also ``errcode`` 0 in the answer
    (企业微信/钉钉 answer 200 with an ``errcode`` when they refuse a message)."""
    headers = {
        "Idempotency-Key": idempotency_key,
        "X-Gridgov-Delivery": idempotency_key,
        "User-Agent": USER_AGENT,
    }
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        return SendResult(False, None, _short(exc))
    if not response.is_success:
        return SendResult(False, response.status_code, f"HTTP {response.status_code}")
    if robot:
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        errcode = answer.get("errcode", 0) if isinstance(answer, dict) else 0
        if errcode not in (0, "0"):
            error = f"errcode {errcode}: {answer.get('errmsg', '')}"[:MAX_ERROR]
            return SendResult(False, response.status_code, error)
    return SendResult(True, response.status_code)


class WebhookChannel:
    """POSTs JSON to a URL: a 企业微信/钉钉 group robot, or any HTTP receiver."""

    def __init__(self, config: NotificationChannel, settings: Settings) -> None:
        assert config.url is not None  # the settings refuse a webhook without one
        self.url = config.url
        self.format = config.format
        self.markdown = config.markdown
        self.timeout = settings.notify_timeout_seconds

    def send(self, delivery: Delivery) -> SendResult:
        body = robot_payload(self.format, self.markdown, delivery)
        return post_json(self.url, body, delivery.id, self.timeout, self.format != "generic")


class SmtpChannel:
    """Mails the message to fixed addresses through the SMTP server of the settings."""

    def __init__(self, config: NotificationChannel, settings: Settings) -> None:
        assert settings.smtp_host is not None  # the settings refuse an smtp channel without one
        self.to = list(config.to)
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.sender = settings.smtp_from
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.starttls = settings.smtp_starttls
        self.timeout = settings.notify_timeout_seconds

    def mail(self, delivery: Delivery) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = delivery.message.title
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        mail["Date"] = formatdate(localtime=False)
        # The delivery id: a repeated send of one delivery is recognisably the same mail.
        mail["Message-ID"] = f"<{delivery.id}@gridgov>"
        mail["X-Gridgov-Delivery"] = delivery.id
        mail.set_content(delivery.message.text)
        return mail

    def send(self, delivery: Delivery) -> SendResult:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username and self.password:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(self.mail(delivery))
        except smtplib.SMTPResponseException as exc:
            return SendResult(False, exc.smtp_code, _short(exc))
        except (smtplib.SMTPException, OSError) as exc:
            return SendResult(False, None, _short(exc))
        if refused:
            return SendResult(False, None, f"refused recipients: {', '.join(sorted(refused))}")
        return SendResult(True, 250)


class SmsGateway(Protocol):
    """What an SMS gateway implements: send ``text`` to ``numbers`` once per ``key``.

    Implementers (a carrier's or a cloud provider's SMS API) map the call onto their API —
    usually a signed HTTP request with a template id, since Chinese carriers only pass
    registered templates — and report the outcome as a :class:`SendResult`, never raising. The
    text names the case and its deadline only; keep it under 70 characters per SMS segment.
    """

    def send(self, numbers: Sequence[str], text: str, key: str) -> SendResult: ...


class HttpSmsGateway:
    """A generic SMS gateway over HTTP: POST ``{"id", "to", "text"}`` as JSON to ``url``."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, numbers: Sequence[str], text: str, key: str) -> SendResult:
        body = {"id": key, "to": list(numbers), "text": text}
        return post_json(self.url, body, key, self.timeout, robot=False)


class SmsChannel:
    """Texts the title and deadline to fixed numbers (the desk's duty phones) via a gateway."""

    def __init__(self, config: NotificationChannel, settings: Settings) -> None:
        assert config.url is not None
        self.numbers = list(config.to)
        self.gateway: SmsGateway = HttpSmsGateway(config.url, settings.notify_timeout_seconds)

    def send(self, delivery: Delivery) -> SendResult:
        text = "\n".join((delivery.message.title, *delivery.message.lines[-1:]))
        return self.gateway.send(self.numbers, text, delivery.id)


CHANNEL_KINDS: dict[str, Callable[[NotificationChannel, Settings], Channel]] = {
    "webhook": WebhookChannel,
    "smtp": SmtpChannel,
    "sms": SmsChannel,
}


def build_channel(config: NotificationChannel, settings: Settings) -> Channel:
    return CHANNEL_KINDS[config.kind](config, settings)


def covers(area: str | None, place: str | None) -> bool:
    """Whether a channel limited to ``area`` takes a case at ``place`` (any when unlimited).

    >>> covers(None, "620881001001001"), covers("620881001000", "620881001001001")
    (True, True)
    >>> covers("620881002000", "620881001001001"), covers("620881", None)
    (False, False)
    """
    if area is None:
        return True
    return place is not None and place.startswith(subtree_code_prefix(area))


def channels_for(
    channels: Sequence[NotificationChannel],
    trigger: str,
    place: str | None,
    department: str | None,
) -> list[NotificationChannel]:
    """The configured channels that take a notification: its trigger, the case's area and, for
    channels of departments, a dispatch to one of them."""
    return [
        c
        for c in channels
        if (not c.triggers or trigger in c.triggers)
        and covers(c.area, place)
        and (not c.departments or (trigger == "dispatch" and department in c.departments))
    ]
