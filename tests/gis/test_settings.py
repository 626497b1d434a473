"""One settings module: the signing key generated on first start, and the production refusals."""

from __future__ import annotations

import ast
import os
import re
import secrets
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from gis.settings import (
    DEVELOPMENT_SECRET,
    SECRET_FILE,
    SOURCE_ROOT,
    Settings,
    load_or_create_secret,
)

PRODUCTION_DB = "postgresql://app:{password}@db.internal:5432/gridgov"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("GRIDGOV_"):
            monkeypatch.delenv(name)


def test_first_start_generates_a_private_secret_and_reuses_it(
    tmp_path: Path, clean_env: None
) -> None:
    home = tmp_path / "home"
    first = Settings(home=home)
    path = home / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.secret_key == path.read_text().strip() and len(first.secret_key) >= 48
    assert first.secret_key != DEVELOPMENT_SECRET
    assert Settings(home=home).secret_key == first.secret_key  # every worker, every restart
    # Production accepts the generated key (it is random and written nowhere in the repo).
    production = Settings(
        home=home,
        environment="production",
        database_url=PRODUCTION_DB.format(password=secrets.token_urlsafe(24)),
    )
    assert production.secret_key == first.secret_key
    # Another home, another key.
    assert load_or_create_secret(tmp_path / "other") != first.secret_key


def _repository_secret() -> str:
    """A secret-looking string literal written in this repository's tests."""
    tree = ast.parse((SOURCE_ROOT / "tests" / "api" / "test_auth.py").read_text())
    literals = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    return next(v for v in literals if v.startswith("another-secret-of-enough-length"))


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        (DEVELOPMENT_SECRET, "published with gridgov"),
        ("p" * 40, "repeats too few characters"),
        ("too-short-but-random-9f3k", "at least 32"),
        ("<repository>", "written in the repository"),
    ],
)
def test_production_refuses_secrets_known_to_the_repository(
    tmp_path: Path, clean_env: None, secret: str, reason: str
) -> None:
    if secret == "<repository>":
        secret = _repository_secret()
    with pytest.raises(ValidationError, match=reason):
        Settings(
            home=tmp_path,
            environment="production",
            secret_key=secret,
            database_url=PRODUCTION_DB.format(password=secrets.token_urlsafe(24)),
        )
    # Development still starts with it (a warning would be noise on every laptop).
    assert Settings(home=tmp_path, secret_key=secret).secret_key == secret


@pytest.mark.parametrize("password", ["gridgov", "postgres"])
def test_production_refuses_the_published_database_password(
    tmp_path: Path, clean_env: None, password: str
) -> None:
    with pytest.raises(ValidationError, match="published with gridgov"):
        Settings(
            home=tmp_path,
            environment="production",
            database_url=PRODUCTION_DB.format(password=password),
        )


def test_only_the_settings_module_reads_gridgov_variables() -> None:
    """One owner of configuration: outside gis/settings.py no module of the packages names a
    ``GRIDGOV_*`` variable (to read it from the environment) or defines a settings class."""
    readers = []
    for package in ("gis", "api", "web", "data", "gridgov"):
        for path in (SOURCE_ROOT / package).rglob("*.py"):
            if path == SOURCE_ROOT / "gis" / "settings.py":
                continue
            where = path.relative_to(SOURCE_ROOT)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and re.fullmatch(r"GRIDGOV_[A-Z0-9_]+", node.value)
                ):
                    readers.append(f"{where}:{node.lineno} reads {node.value}")
                if isinstance(node, ast.ClassDef) and any(
                    isinstance(base, ast.Name) and base.id == "BaseSettings" for base in node.bases
                ):
                    readers.append(f"{where}:{node.lineno} defines a second settings class")
    assert readers == [], "take settings from gis.settings.get_settings(): " + "; ".join(readers)


def test_tile_cache_and_cluster_take_their_values_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gis.pgcluster import ClusterError, EmbeddedCluster, find_bindir
    from gis.queries import tiles
    from gis.settings import get_settings

    monkeypatch.setenv("GRIDGOV_TILE_CACHE_SIZE", "7")
    monkeypatch.setenv("GRIDGOV_TILE_CACHE_TTL", "3")
    get_settings.cache_clear()
    tiles._tile_cache.cache_clear()
    try:
        assert (tiles._tile_cache().size, tiles.cache_ttl()) == (7, 3)
    finally:
        tiles._tile_cache.cache_clear()
    monkeypatch.setenv("GRIDGOV_PG_BINDIR", str(tmp_path))
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.pg_bindir == tmp_path
    with pytest.raises(ClusterError, match="has no pg_ctl"):
        find_bindir(settings.pg_bindir)
    assert EmbeddedCluster(tmp_path / "home", settings.pg_bindir).bindir == tmp_path
