#!/usr/bin/env bash
# Set up everything gridgov needs on this machine, idempotently and quickly the second time:
#   system packages (apt-get, only what is missing) → .venv from requirements.lock + gridgov →
#   embedded PostGIS started (unless GRIDGOV_DATABASE_URL is set) → schema migrated → demo city.
# Usage: scripts/bootstrap.sh run|test   ("test" also installs gdal-bin and chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

purpose=${1:-run}
venv=${VENV:-.venv}
python=${PYTHON:-python3}
say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# --- system packages ---------------------------------------------------------------------------
as_root=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root="sudo"; else as_root="none"; fi
fi
apt_updated=""
apt_install() {
    [ $# -gt 0 ] || return 0
    if [ "$as_root" = "none" ] || ! command -v apt-get >/dev/null 2>&1; then
        die "missing system packages: $*
Install them with your package manager (as root), then run this again.
To use an existing PostGIS instead of the embedded one, set GRIDGOV_DATABASE_URL=postgresql://user:pass@host:5432/db"
    fi
    if [ -z "$apt_updated" ]; then
        say "apt-get update"
        $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    say "apt-get install $*"
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

newest_pg() { ls /usr/lib/postgresql 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -1; }

if [ -z "${GRIDGOV_DATABASE_URL:-}" ]; then
    [ -n "$(newest_pg)" ] || apt_install postgresql postgresql-contrib
    pg=$(newest_pg)
    [ -n "$pg" ] || die "PostgreSQL did not install"
    [ "$pg" -ge 15 ] || say "PostgreSQL $pg is older than the 15 gridgov is tested on"
    [ -f "/usr/share/postgresql/$pg/extension/postgis.control" ] || apt_install "postgresql-$pg-postgis-3" "postgresql-$pg-postgis-3-scripts"
fi
command -v "$python" >/dev/null 2>&1 || apt_install python3 python3-venv
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "gridgov needs Python 3.11 or newer (found $("$python" --version)); set PYTHON=/path/to/python3.11"
"$python" -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
if [ "$purpose" = "test" ]; then
    missing=()
    command -v ogrinfo >/dev/null 2>&1 || missing+=(gdal-bin)
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)  # Chinese in screenshots
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)  # the HTTP load generator of bench/harness.py
    apt_install "${missing[@]}"
fi

# --- Python environment ------------------------------------------------------------------------
# Every dependency comes pinned, with hashes, from requirements.lock (`make lock` writes it from
# pyproject.toml's ranges); gridgov itself is then installed without resolving anything.
[ -x "$venv/bin/python" ] || { say "creating $venv"; "$python" -m venv "$venv"; }
stamp="$venv/.gridgov-installed"
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing the locked dependencies (requirements.lock) and gridgov into $venv"
    "$venv/bin/python" -m pip install -q --require-hashes -r requirements.lock
    "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
    "$venv/bin/python" -m pip check >/dev/null || die "requirements.lock does not satisfy pyproject.toml:
$("$venv/bin/python" -m pip check)
Run 'make lock' to update the lock, then run this again."
    echo "$want" > "$stamp"
fi

# --- database ------------------------------------------------------------------------------------
gridgov="$venv/bin/gridgov"
"$gridgov" db start
"$gridgov" migrate
"$gridgov" demo
