# Two entry points for people: `make mock` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

NODE_E2E := tests/e2e_node

.PHONY: mock test lint setup bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

# The official ZITADEL clients the end-to-end tests drive, pinned by the lock file.
$(NODE_E2E)/node_modules/.package-lock.json: $(NODE_E2E)/package-lock.json
	npm ci --prefix $(NODE_E2E) --no-audit --no-fund

setup: $(BIN)/.installed $(NODE_E2E)/node_modules/.package-lock.json

mock: $(BIN)/.installed
	$(BIN)/zitadel-mock $(ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Spread over the machine's cores with pytest-xdist: every test takes its own ports, servers
# and instances, so workers share nothing.
test: setup lint
	$(BIN)/python -m pytest -n auto $(ARGS)

# Figures, not a test: nothing asserts on them, CI times nothing and `make test` leaves it out.
# Prism goes into the user's cache on first use; wrk and h2load (native gRPC) come from the OS
# packages when they can (as root with apt-get), else the script's own Python load generator
# drives the servers and native gRPC is left out.
bench: $(BIN)/.installed
	@command -v wrk >/dev/null && command -v h2load >/dev/null || { [ "$$(id -u)" = 0 ] \
		&& command -v apt-get >/dev/null && apt-get install -y -q wrk nghttp2-client >/dev/null; } \
		|| true
	$(BIN)/python bench/bench_side_by_side.py $(ARGS)
