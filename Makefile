# Entry points for people: `make mock`, `make check` (fast) and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

NODE_E2E := tests/e2e_node

.PHONY: mock test check lint setup

# The mock alone (`make mock`); the test extras (the conformance suite, ruff, grpcio-tools) on
# top of it for everything else.
$(BIN)/.installed-mock: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(BIN)/.installed: $(BIN)/.installed-mock
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

# The official ZITADEL clients the end-to-end tests drive, pinned by the lock file.
$(NODE_E2E)/node_modules/.package-lock.json: $(NODE_E2E)/package-lock.json
	npm ci --prefix $(NODE_E2E) --no-audit --no-fund

setup: $(BIN)/.installed $(NODE_E2E)/node_modules/.package-lock.json

mock: $(BIN)/.installed-mock
	$(BIN)/zitadel-mock $(ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Spread over the machine's cores with pytest-xdist: every test takes its own ports, servers
# and instances, so workers share nothing.
test: setup lint
	$(BIN)/python -m pytest -n auto $(ARGS)

# Everything but the tests marked slow (end-to-end, browser, fault corpus): under 30 s.
check: $(BIN)/.installed lint
	$(BIN)/python -m pytest -n auto -m "not slow" -q $(ARGS)
