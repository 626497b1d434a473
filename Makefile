# The two commands: `make run` serves the demo city, `make test` runs the whole suite.
# Both do all set-up first (scripts/bootstrap.sh) and are quick the second time.
SHELL := /bin/bash
VENV ?= .venv
export VENV
BIN := $(VENV)/bin

.PHONY: run test check setup setup-test lint typecheck pytest pytest-fast lock stop clean

run: setup
	$(BIN)/gridgov serve

test: setup-test lint typecheck pytest

setup:
	./scripts/bootstrap.sh run

setup-test:
	./scripts/bootstrap.sh test

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest

# The fast lane for local work: lint, types and the tests that need neither a browser, GDAL's
# tools nor minutes (markers in pyproject.toml). CI runs the whole `make test`.
check: setup-test lint typecheck pytest-fast

pytest-fast:
	$(BIN)/pytest -m "not slow and not browser and not gdal"

# Every Python dependency (with the dev extras and the build tools) pinned with hashes in
# requirements.lock, which scripts/bootstrap.sh installs from. After changing a dependency in
# pyproject.toml run `make lock`: existing pins are kept unless the ranges require otherwise.
# `make lock UPGRADE=1` moves everything to the newest versions the ranges allow;
# `make lock UPGRADE=fastapi` only that package.
LOCK_TOOLS = $(BIN)/python -c 'import tomllib; print("\n".join(["pip", *tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]]))'
lock:
	$(LOCK_TOOLS) | $(BIN)/uv pip compile pyproject.toml - --extra dev --universal \
		--python-version 3.11 --generate-hashes --no-strip-extras --custom-compile-command "make lock" \
		$(if $(filter 1,$(UPGRADE)),--upgrade,$(if $(UPGRADE),--upgrade-package $(UPGRADE))) \
		-o requirements.lock

stop:
	$(BIN)/gridgov db stop

# The embedded cluster's data may live outside .gridgov (as root, under /var/lib/gridgov).
clean:
	if [ -x $(BIN)/gridgov ]; then $(BIN)/gridgov db destroy --yes; fi
	rm -rf .gridgov $(VENV)
