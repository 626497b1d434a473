# The two commands: `make run` serves the demo city, `make test` runs the whole suite.
# Both do all set-up first (scripts/bootstrap.sh) and are quick the second time.
SHELL := /bin/bash
VENV ?= .venv
export VENV
BIN := $(VENV)/bin

.PHONY: run test setup setup-test lint typecheck pytest stop clean

run: setup
	$(BIN)/gridgov serve

test: setup-test lint typecheck pytest

setup:
	./scripts/bootstrap.sh run

setup-test:
	./scripts/bootstrap.sh test

lint:
	$(BIN)/ruff check .

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest

stop:
	$(BIN)/gridgov db stop

clean: stop
	rm -rf .gridgov $(VENV)
