# Entry points for people: `make mock`, `make check` (fast) and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

NODE_E2E := tests/e2e_node

.PHONY: mock test check lint setup bench conformance

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

# Headless Chromium opens the conformance suite's HTML report in a test (Debian package).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium

setup: $(BIN)/.installed $(NODE_E2E)/node_modules/.package-lock.json $(CHROMIUM)

# The conformance suite against a running target, with only what the suite needs:
# make conformance URL=http://127.0.0.1:8080 ARGS="--allow-org-deactivation"
$(BIN)/.conformance: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e ".[conformance]"
	touch $@

conformance: $(BIN)/.conformance
	@test -n "$(URL)" || { echo "give the target: make conformance URL=http://127.0.0.1:8080"; exit 2; }
	$(BIN)/zitadel-conformance $(URL) $(ARGS)

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

# Figures, not a test: nothing asserts on them, CI times nothing and `make test` leaves it out.
# Prism goes into the user's cache on first use; wrk and h2load (native gRPC) come from the OS
# packages when they can (as root with apt-get), else the script's own Python load generator
# drives the servers and native gRPC is left out.
bench: $(BIN)/.installed
	@command -v wrk >/dev/null && command -v h2load >/dev/null || { [ "$$(id -u)" = 0 ] \
		&& command -v apt-get >/dev/null && apt-get update -qq \
		&& apt-get install -y -q wrk nghttp2-client >/dev/null; } \
		|| true
	$(BIN)/python bench/bench_side_by_side.py $(ARGS)
