# make run  -> set up .venv and run the appliance on ./data (inbox, outbox, state)
# make test -> set up .venv, lint (ruff, mypy) and run the test suite; make test-fast skips the slow ones
PYTHON ?= $(shell for p in python3.11 python3.12 python3.10 python3; do command -v $$p >/dev/null && { echo $$p; break; }; done)
VENV   ?= .venv
BIN    := $(VENV)/bin
LOCK   ?= dev
PYTEST_ARGS ?=
# make test runs the suite in this many pytest-xdist workers, one test file per worker at a time (a
# file's module fixtures made once; session fixtures once per worker); most slow tests wait on a
# service, a broker or a browser, so two overlap on two cores. 1: one process, as plain pytest (each
# worker peaks at ~2.6 GB). Not --dist loadgroup: with pytest 9.2 and pytest-xdist 3.8 its groups are
# not applied (xdist writes item._nodeid, which pytest no longer reads), so tests go one by one
TEST_WORKERS ?= 2
WORKERS_ARGS = $(if $(filter-out 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile)

.PHONY: run test test-fast lint venv system-deps models bench container-test lock clean

# the pinned, hashed dependencies (requirements/$(LOCK).txt, made by scripts/lock.sh), then the appliance itself
$(BIN)/.installed: pyproject.toml requirements/$(LOCK).txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements/$(LOCK).txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

venv: $(BIN)/.installed

system-deps:
	@bash scripts/system-deps.sh

run: venv
	mkdir -p data/inbox data/outbox data/state
	$(BIN)/appliance serve --data ./data

lint: venv
	$(BIN)/ruff check appliance tests scripts
	$(BIN)/ruff format --check appliance tests scripts
	$(BIN)/mypy

test: venv system-deps lint
	$(BIN)/python -m pytest $(WORKERS_ARGS) $(PYTEST_ARGS)

test-fast: venv lint
	$(BIN)/python -m pytest -m "not slow" $(WORKERS_ARGS) $(PYTEST_ARGS)

models: venv
	$(BIN)/python scripts/convert_models.py --fp16

bench: venv
	$(BIN)/python scripts/bench.py --json bench-out/bench.json

lock: venv
	UV=$(BIN)/uv bash scripts/lock.sh

container-test:
	bash scripts/container-test.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
