# `make run` and `make test` do all the set-up on a fresh machine (Python 3.11+ and make).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test lint check contract bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: no python3.11 or python3 on PATH" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: install  ## ingest the default config (the seeds, offline) and print what is stored
	$(BIN)/ingest run-once
	$(BIN)/ingest export --format text

test: install  ## the whole test suite
	$(BIN)/pytest

lint: install  ## ruff and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

check: lint test  ## everything CI runs

contract: install  ## the interface contract of ../shared/DESIGN.md
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python ../shared/checks/contract.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
