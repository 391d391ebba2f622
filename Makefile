# Quick start: `make run` (the app, with the demo arena) and `make test` (the whole suite).
# Both create .venv, install the project editable, and install the Debian packages they need
# when run as root (otherwise they print what to install).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PORT   ?= 8501
# Loopback only: the app has no login and launches arenas. Another interface (behind your own login proxy,
# say): make run ADDRESS=0.0.0.0
ADDRESS ?= 127.0.0.1

.PHONY: run test system-deps install lint format demo bench clean

run: install
	$(BIN)/arena demo --if-missing
	$(BIN)/streamlit run app/main.py --server.address $(ADDRESS) --server.port $(PORT) --server.headless true

test: install
	@.ci/system-deps --test
	$(BIN)/python -m pytest

install: system-deps $(STAMP)

system-deps:
	@.ci/system-deps

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

lint: install
	$(BIN)/ruff check arena app pages tests benchmarks
	$(BIN)/ruff format --check arena app pages tests benchmarks

format: install
	$(BIN)/ruff format arena app pages tests benchmarks
	$(BIN)/ruff check --fix arena app pages tests benchmarks

demo: install
	$(BIN)/arena demo

bench: install
	$(BIN)/python benchmarks/provision.py
	$(BIN)/python benchmarks/orchestration.py
	$(BIN)/python benchmarks/evaluation.py
	$(BIN)/python benchmarks/live_refresh.py
	$(BIN)/python benchmarks/leaderboard.py
	$(BIN)/python benchmarks/workers.py

clean:
	rm -rf $(VENV) .pytest_cache
