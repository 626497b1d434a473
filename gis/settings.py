"""All of gridgov's settings, read from the environment (prefix ``GRIDGOV_``) in one class.

This module is the only reader of ``GRIDGOV_*`` variables: the embedded cluster
(:mod:`gis.pgcluster`, standard-library-only so a bare system Python can run it) receives its home
and binary directory as arguments, and the tile cache, the security middleware and the sign-in
code all take their values from :func:`get_settings`.

The signing key: ``GRIDGOV_SECRET_KEY`` when set; otherwise a random key generated on first start
into ``$GRIDGOV_HOME/secret_key`` (mode 0600) and reused by every later start and every worker.
Production refuses a key that is short, repetitive, or known to this repository.
"""

from __future__ import annotations

import os
import secrets
import time
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SOURCE_ROOT = Path(__file__).resolve().parent.parent
SECRET_FILE = "secret_key"  # noqa: S105 - a file name
MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT_CHARACTERS = 10
# Secrets this repository has published (an earlier default, the Docker Compose database
# password) and the usual placeholders. Production also refuses any secret that appears anywhere
# in the source tree (:func:`secret_in_source`), which covers examples in docs and tests.
DEVELOPMENT_SECRET = "gridgov-development-secret-change-me"  # noqa: S105 - refused in production
KNOWN_SECRETS = frozenset(
    {
        DEVELOPMENT_SECRET,
        "gridgov",
        "postgres",
        "password",
        "secret",
        "changeme",
        "change-me",
    }
)
# Where a secret could have been written down in the repository: the packages, docs, tests and
# set-up files. Vendored third-party assets are left out (large, and not ours).
_SOURCE_DIRS = ("gis", "api", "web", "data", "gridgov", "tests", "docs", "scripts", "bench")
_SOURCE_FILES = ("README.md", "docker-compose.yml", "Dockerfile", "Makefile", "pyproject.toml")
_SOURCE_SUFFIXES = frozenset(
    {".py", ".md", ".yml", ".yaml", ".toml", ".sh", ".ini", ".cfg", ".env", ".txt", ".json"}
)
_SKIPPED_DIRS = frozenset({"vendor", "__pycache__", "node_modules", ".venv", ".gridgov", ".git"})


def default_home() -> Path:
    """``.gridgov`` next to the source tree (``GRIDGOV_HOME`` overrides it)."""
    return SOURCE_ROOT / ".gridgov"


def normalise_database_url(url: str) -> str:
    """Make any PostgreSQL URL use SQLAlchemy's psycopg 3 driver.

    >>> normalise_database_url("postgres://u:p@db:5432/gridgov")
    'postgresql+psycopg://u:p@db:5432/gridgov'
    >>> normalise_database_url("postgresql+psycopg2://u@db/g")
    'postgresql+psycopg://u@db/g'
    """
    for prefix in (
        "postgresql+psycopg2://",
        "postgresql+psycopg://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("GRIDGOV_DATABASE_URL must be a postgresql:// URL")


def libpq_url(url: str) -> str:
    """The same URL in the plain form libpq and ``psycopg.connect`` take.

    >>> libpq_url("postgresql+psycopg://u@db/g")
    'postgresql://u@db/g'
    """
    return "postgresql://" + normalise_database_url(url)[len("postgresql+psycopg://") :]


def _source_files(root: Path) -> list[Path]:
    found = [root / name for name in _SOURCE_FILES if (root / name).is_file()]
    for directory in _SOURCE_DIRS:
        for dirpath, dirnames, filenames in os.walk(root / directory):
            dirnames[:] = [d for d in dirnames if d not in _SKIPPED_DIRS]
            found.extend(Path(dirpath) / f for f in filenames if Path(f).suffix in _SOURCE_SUFFIXES)
    return found


def secret_in_source(secret: str, root: Path = SOURCE_ROOT) -> Path | None:
    """The first file of gridgov's source tree that contains ``secret``, or None.

    A value written anywhere in the repository (an example, a test, a default) is public.
    """
    needle = secret.encode()
    for path in _source_files(root):
        try:
            if needle in path.read_bytes():
                return path
        except OSError:
            continue
    return None


def weak_secret_reason(secret: str, root: Path = SOURCE_ROOT) -> str | None:
    """Why ``secret`` must not sign production tokens, or None if it may.

    >>> weak_secret_reason("p" * 40)
    'it repeats too few characters (1 distinct)'
    >>> weak_secret_reason("short")
    'it has 5 characters; at least 32 are needed'
    >>> weak_secret_reason(secrets.token_urlsafe(48)) is None
    True
    """
    if secret in KNOWN_SECRETS:
        return "it is a value published with gridgov"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"it has {len(secret)} characters; at least {MIN_SECRET_LENGTH} are needed"
    distinct = len(set(secret))
    if distinct < MIN_SECRET_DISTINCT_CHARACTERS:
        return f"it repeats too few characters ({distinct} distinct)"
    found = secret_in_source(secret, root)
    if found is not None:
        return f"it is written in the repository ({found.relative_to(root)})"
    return None


def load_or_create_secret(home: Path) -> str:
    """The signing key kept in ``home/secret_key``, generated (mode 0600) when missing.

    Exclusive creation makes concurrent first starts (several workers) agree on one key.
    """
    path = home / SECRET_FILE
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ValueError(
            f"cannot create the signing key {path}: {exc.strerror}; set GRIDGOV_SECRET_KEY or "
            "make GRIDGOV_HOME writable"
        ) from exc
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
    for _ in range(50):  # another process may be between creating and writing the file
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.02)
    raise ValueError(f"the signing key file {path} is empty; delete it or set GRIDGOV_SECRET_KEY")


def _url_password(url: str | None) -> str | None:
    if not url:
        return None
    password = urlsplit(url).password
    return unquote(password) if password else None


class NotificationChannel(BaseModel):
    """One outside channel of notifications (``GRIDGOV_NOTIFY_CHANNELS``, a JSON list).

    ``kind`` picks the implementation (gis/notifications/channels.py): ``webhook`` posts to
    ``url`` (``format`` ``wecom`` or ``dingtalk`` robot JSON, ``text`` or ``markdown``;
    ``generic`` the message itself), ``smtp`` mails ``to`` through the SMTP server of the
    ``smtp_*`` settings, ``sms`` posts to an SMS gateway at ``url`` for the numbers in ``to``.
    ``triggers`` (empty = all), ``area`` (a code: cases in its subtree only) and ``departments``
    (dispatches to these departments only) choose which notifications go out on it.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    kind: Literal["webhook", "smtp", "sms"]
    url: str | None = Field(default=None, pattern=r"^https?://")
    format: Literal["wecom", "dingtalk", "generic"] = "generic"
    markdown: bool = False
    to: list[str] = Field(default_factory=list)
    triggers: list[Literal["dispatch", "send_back", "due_soon", "escalation"]] = Field(
        default_factory=list
    )
    area: str | None = Field(default=None, pattern=r"^[0-9]{6,15}$")
    departments: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> NotificationChannel:
        if self.kind in ("webhook", "sms") and not self.url:
            raise ValueError(f"notification channel {self.name}: a {self.kind} needs a url")
        if self.kind in ("smtp", "sms") and not self.to:
            raise ValueError(f"notification channel {self.name}: a {self.kind} needs 'to'")
        return self


class Settings(BaseSettings):
    """gridgov's configuration; every field is set by ``GRIDGOV_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    home: Path = Field(default_factory=default_home)
    # The embedded cluster's PostgreSQL binaries; unset = the newest with PostGIS.
    pg_bindir: Path | None = None
    # The app's connection: a role that neither owns the tables nor is a superuser.
    database_url: str | None = None
    # The schema owner's connection, for `gridgov migrate` and bulk loads (`gridgov demo`).
    # Unset with database_url set: migrations run as database_url's role (docs/operations.md).
    migration_database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    # Unset: generated into $GRIDGOV_HOME/secret_key on first start (see load_or_create_secret).
    secret_key: str = ""
    demo_password: str | None = None
    basemap: Literal["none", "osm", "tianditu", "amap"] = "none"
    tianditu_key: str | None = None
    language: Literal["zh-CN", "en"] = "zh-CN"
    # Database connections per worker process: the most requests that use the database at once.
    # Further requests wait up to db_pool_timeout seconds for one, then get 503 and Retry-After.
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_pool_timeout: float = Field(default=10.0, gt=0, le=300)
    # A pooled connection idle for longer than this is pinged before a request gets it (a
    # restarted server dropped it); one given back more recently is handed out as it is, so a
    # busy worker pays no extra round trip per request. 0 = ping on every checkout.
    db_ping_after_idle_seconds: float = Field(default=1.0, ge=0, le=3600)
    # A streaming replica for read-only requests (maps, tiles, items, locate); unset = primary.
    replica_url: str | None = None
    # The key file of `gridgov backup` / `restore` when --key-file is not given.
    backup_key_file: Path | None = None
    # Vector tiles cached per worker (entries, 0 disables) and how long one may be reused.
    tile_cache_size: int = Field(default=4096, ge=0)
    tile_cache_ttl: int = Field(default=60, ge=0)
    # How often a worker reads the data version that keys its tile cache (milliseconds): a
    # cached tile is served without the database in between, so an edit committed by another
    # process shows in tiles within this bound (this process's own writes at once).
    tile_version_check_ms: int = Field(default=500, ge=0, le=60_000)
    # How long readiness (/api/v1/health) reuses the server versions and schema revision it
    # read (seconds); the database is still pinged on every call.
    health_cache_seconds: int = Field(default=30, ge=0, le=3600)

    # --- sign-in and abuse limits (docs/security.md) ---
    # Lifetime of an access token (bearer); renew it with the refresh token.
    token_minutes: int = Field(default=15, ge=1, le=60)
    # Lifetime of a sign-in session: the refresh token and the map pages' cookie.
    session_hours: int = Field(default=8, ge=1, le=7 * 24)
    rate_sign_in_per_minute: int = Field(default=10, ge=1)
    rate_public_per_minute: int = Field(default=600, ge=1)
    # Concurrent event streams per client (account, or address when anonymous) and per worker.
    streams_per_client: int = Field(default=4, ge=1, le=100)
    streams_per_worker: int = Field(default=1000, ge=1)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_json_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_json_depth: int = Field(default=32, ge=4, le=1000)
    max_bbox_degrees: float = Field(default=10.0, gt=0, le=360)
    cors_origins: list[str] = Field(default_factory=list)

    # --- photos and attachments (docs/media.md) ---
    # Where the filesystem store keeps them; unset = $GRIDGOV_HOME/media.
    media_dir: Path | None = None
    # The largest photo accepted (bytes of the upload) and its largest size in pixels (a
    # decompression bomb is refused before it is decoded). Below max_body_bytes, so the media
    # route, not the body limit, tells the user what to fix.
    media_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    media_max_pixels: int = Field(default=50_000_000, ge=10_000)

    # --- notifications (docs/notifications.md) ---
    # Outside channels as a JSON list of NotificationChannel; empty = in-app notifications only.
    notify_channels: list[NotificationChannel] = Field(default_factory=list)
    # The in-service sender looks for due deliveries this often (seconds; 0 = only the CLI
    # `gridgov notifications send` sends).
    notify_send_interval: float = Field(default=10.0, ge=0, le=3600)
    # Attempts before a delivery is given up as failed, and the first retry's delay (doubling).
    notify_max_attempts: int = Field(default=8, ge=1, le=50)
    notify_retry_base_seconds: float = Field(default=30.0, gt=0, le=86400)
    notify_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # The SMTP server of `smtp` channels (standard library smtplib).
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "gridgov@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False

    # --- working time and escalation (docs/command-centre.md, "Working time and escalation") ---
    # Deadlines run in office hours on working days, read in this time zone.
    timezone: str = "Asia/Shanghai"
    office_hours: str = "08:30-12:00,14:00-17:30"
    # The in-service runner that escalates overdue cases and announces approaching deadlines
    # (one worker at a time, under a PostgreSQL advisory lock); off: run `gridgov incidents
    # escalate` from cron instead.
    escalation_runner: bool = True
    escalation_interval_seconds: int = Field(default=60, ge=5, le=24 * 3600)
    # A case is "due soon" (event due_soon, once per stage) when this much working time (clock
    # time for round-the-clock categories) is left before its deadline; 0 turns it off.
    due_soon_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str | None) -> str | None:
        return normalise_database_url(value) if value else None

    @field_validator("migration_database_url")
    @classmethod
    def _normalise_migration_url(cls, value: str | None) -> str | None:
        return normalise_database_url(value) if value else None

    @field_validator("replica_url")
    @classmethod
    def _normalise_replica_url(cls, value: str | None) -> str | None:
        return normalise_database_url(value) if value else None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"GRIDGOV_TIMEZONE: unknown time zone {value!r}") from exc
        return value

    @field_validator("office_hours")
    @classmethod
    def _valid_office_hours(cls, value: str) -> str:
        from gis.incidents.workcalendar import OfficeHours

        try:
            return str(OfficeHours.parse(value))
        except ValueError as exc:
            raise ValueError(f"GRIDGOV_OFFICE_HOURS: {exc}") from exc

    @model_validator(mode="after")
    def _resolve_and_refuse_unsafe(self) -> Settings:
        if not self.secret_key:
            self.secret_key = load_or_create_secret(self.home)
        if self.environment == "production":
            reason = weak_secret_reason(self.secret_key)
            if reason:
                raise ValueError(
                    f"refusing to start in production: GRIDGOV_SECRET_KEY is unsafe ({reason}); "
                    "unset it to use the key generated in $GRIDGOV_HOME/secret_key, or set a "
                    "random value of at least 32 characters"
                )
            if self.database_url is None:
                raise ValueError("GRIDGOV_DATABASE_URL must be set in production")
            password = _url_password(self.database_url)
            if password is not None and (
                password in KNOWN_SECRETS or secret_in_source(password) is not None
            ):
                raise ValueError(
                    "refusing to start in production: the password in GRIDGOV_DATABASE_URL is "
                    "published with gridgov (e.g. the Docker Compose default); set a new one"
                )
        if self.media_dir is None:
            self.media_dir = self.home / "media"
        names = [c.name for c in self.notify_channels]
        if len(set(names)) != len(names):
            raise ValueError("GRIDGOV_NOTIFY_CHANNELS: each channel needs its own name")
        if any(c.kind == "smtp" for c in self.notify_channels) and not self.smtp_host:
            raise ValueError("an smtp notification channel needs GRIDGOV_SMTP_HOST")
        if self.basemap == "tianditu" and not self.tianditu_key:
            raise ValueError("GRIDGOV_BASEMAP=tianditu needs GRIDGOV_TIANDITU_KEY")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
