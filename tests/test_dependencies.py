"""requirements.lock pins every dependency pyproject.toml names, within its ranges, with hashes;
the environment the tests run in was installed from it (scripts/bootstrap.sh)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[(?P<extras>[^\]]*)\])?==(?P<version>[^\s;\\]+)"
    r"(?:\s*;\s*(?P<marker>[^\\]+?))?\s*\\?$"
)


def _locked() -> dict[str, list[tuple[Version, Marker | None, set[str], int]]]:
    """Name → its pins: (version, marker, extras, number of hashes)."""
    pins: dict[str, list[tuple[Version, Marker | None, set[str], int]]] = {}
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    for i, line in enumerate(lines):
        match = PIN.match(line)
        if not match:
            continue
        hashes = 0
        for follower in lines[i + 1 :]:
            if not follower.startswith("    --hash="):
                break
            hashes += 1
        marker = Marker(match["marker"]) if match["marker"] else None
        extras = {e.strip() for e in (match["extras"] or "").split(",") if e.strip()}
        name = canonicalize_name(match["name"])
        pins.setdefault(name, []).append((Version(match["version"]), marker, extras, hashes))
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    names = [
        *project["project"]["dependencies"],
        *(d for deps in project["project"]["optional-dependencies"].values() for d in deps),
        *project["build-system"]["requires"],
    ]
    return [Requirement(n) for n in names]


def test_the_lock_parses_and_every_pin_has_hashes() -> None:
    locked = _locked()
    assert len(locked) > 50
    unhashed = [name for name, pins in locked.items() for *_, hashes in pins if hashes == 0]
    assert unhashed == []


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    locked = _locked()
    problems = []
    for requirement in _declared():
        pins = locked.get(canonicalize_name(requirement.name))
        if not pins:
            problems.append(f"{requirement} is not in requirements.lock")
            continue
        for version, _, extras, _ in pins:
            if not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"{requirement.name}=={version} is outside {requirement}")
            if not requirement.extras <= extras:
                problems.append(f"{requirement.name} is locked without its extras {requirement}")
    assert problems == [], "run `make lock`:\n" + "\n".join(problems)


def test_what_the_extras_bring_is_pinned_too() -> None:
    # uvicorn[standard], psycopg[binary,pool], pwdlib[argon2]: their extra dependencies.
    locked = _locked()
    missing = []
    for requirement in _declared():
        for extra in requirement.extras:
            for dependency in metadata.requires(requirement.name) or []:
                needed = Requirement(dependency)
                if needed.marker is None or not needed.marker.evaluate({"extra": extra}):
                    continue
                if canonicalize_name(needed.name) not in locked:
                    missing.append(f"{needed.name} (for {requirement.name}[{extra}])")
    assert missing == []


def test_the_environment_was_installed_from_the_lock() -> None:
    differences = []
    for name, pins in _locked().items():
        wanted = [version for version, marker, *_ in pins if marker is None or marker.evaluate()]
        if not wanted:
            continue  # for another platform or Python
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            differences.append(f"{name} is not installed")
            continue
        if installed not in wanted:
            differences.append(f"{name} {installed} installed, {wanted[0]} locked")
    assert differences == [], "run scripts/bootstrap.sh:\n" + "\n".join(differences)
