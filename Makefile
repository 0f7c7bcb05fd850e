# One place for the project's checks. CI runs scripts/test (through .ci/run), which installs
# everything from nothing; `make test` runs the same suite in an existing .venv.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test check lint typecheck schema bench serve

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"

test: install
	$(BIN)/pytest

lint:
	$(BIN)/ruff check graph resolvers providers tests
	$(BIN)/ruff format --check graph resolvers providers tests

typecheck:
	$(BIN)/mypy graph resolvers providers tests

schema:
	$(BIN)/commerce-graph export-schema > schema.graphql

check: lint typecheck
	$(BIN)/pytest

bench: install
	$(BIN)/python -m tests.benchmarks.run

serve: install
	$(BIN)/commerce-graph serve
