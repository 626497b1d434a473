"""Settings, read from the environment (prefix ``GRIDGOV_``) with safe development defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gis.pgcluster import default_home

DEVELOPMENT_SECRET = "gridgov-development-secret-change-me"  # noqa: S105 - refused in production


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


class Settings(BaseSettings):
    """gridgov's configuration; every field is set by ``GRIDGOV_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    home: Path = Field(default_factory=default_home)
    # The app's connection: a role that neither owns the tables nor is a superuser.
    database_url: str | None = None
    # The schema owner's connection, for `gridgov migrate` and bulk loads (`gridgov demo`).
    # Unset with database_url set: migrations run as database_url's role (docs/operations.md).
    migration_database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    secret_key: str = DEVELOPMENT_SECRET
    demo_password: str | None = None
    basemap: Literal["none", "osm", "tianditu", "amap"] = "none"
    tianditu_key: str | None = None
    language: Literal["zh-CN", "en"] = "zh-CN"
    # Database connections per worker process: the most requests that use the database at once.
    # Further requests wait up to db_pool_timeout seconds for one, then get 503 and Retry-After.
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_pool_timeout: float = Field(default=10.0, gt=0, le=300)
    # A streaming replica for read-only requests (maps, tiles, items, locate); unset = primary.
    replica_url: str | None = None

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

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            if self.secret_key == DEVELOPMENT_SECRET or len(self.secret_key) < 32:
                raise ValueError(
                    "GRIDGOV_SECRET_KEY must be set to a random value of at least 32 characters "
                    "in production"
                )
            if self.database_url is None:
                raise ValueError("GRIDGOV_DATABASE_URL must be set in production")
        if self.basemap == "tianditu" and not self.tianditu_key:
            raise ValueError("GRIDGOV_BASEMAP=tianditu needs GRIDGOV_TIANDITU_KEY")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
