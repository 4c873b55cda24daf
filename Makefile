# The two commands of the README, each working on a fresh clone:
#   make run    set up .venv, migrate the embedded SQLite database and start the API on :8000
#   make test   set up .venv with the dev tools and run lint, the spec check and the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
TEST_WORKERS ?= 2

.PHONY: run test lint openapi bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/samhandling migrate
	$(BIN)/samhandling serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

openapi: $(VENV)/.installed
	$(BIN)/samhandling openapi

test: lint
	$(BIN)/samhandling openapi --check
	$(BIN)/pytest -n $(TEST_WORKERS)

bench: $(VENV)/.installed-dev
	bench/run.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
