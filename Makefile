# Reservas: every target sets itself up. On a fresh machine with Python 3.13 (the functions' runtime,
# python3.13 on PATH or in pyenv), `make dev` and `make test` are enough.
PYTHON ?= $(or $(shell python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null),$(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13))),python3.13)
VENV   := .venv
BIN    := $(VENV)/bin
# Named for the runtime: a virtual environment of another Python (an older clone's) is made anew.
STAMP  := $(VENV)/.installed-python3.13
# The architecture the functions are built for (make build ARCH=x86_64): the layer's binary wheels are
# built for one, so it is chosen here, not at deploy time.
ARCH   ?= arm64

export SAM_CLI_TELEMETRY := 0

.PHONY: install dev test test-unit lint format build clean migrate admin bench openapi fuzz browser smoke

$(STAMP): pyproject.toml layers/common/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null || { echo "Python 3.13 not found ($(PYTHON)): install it (or run make PYTHON=/path/to/python3.13)" >&2; exit 1; }
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null || { rm -rf $(VENV); echo "==> Creating the virtual environment in $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> Updating pip"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "==> Installing Reservas and its tools (about two minutes the first time; pip shows each package)"
	$(BIN)/python -m pip install -r layers/common/requirements.txt --group dev --progress-bar on
	@touch $(STAMP)
	@echo "==> Installed; from now on this step is skipped until pyproject.toml or the requirements change"

install: $(STAMP)

dev: $(STAMP)
	$(BIN)/python devtools/local_api.py

test: $(STAMP) browser
	$(BIN)/python -m pytest

# The web page's tests drive a real Chromium: the system's (Playwright's own download is not needed).
# Installed with apt when missing and make runs as root (CI, containers); otherwise say how.
browser:
	@test -n "$$RESERVAS_CHROMIUM" || command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "==> Installing Chromium (apt) for the web page's browser tests"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; \
	  else \
	    echo "The web page's tests need Chromium: sudo apt-get install chromium (or set RESERVAS_CHROMIUM to a Chromium or Chrome binary)" >&2; \
	    exit 1; \
	  fi; }

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml "$$($(BIN)/python -m devtools.build --arch x86_64 --template-only)"
	$(BIN)/sam validate --lint --template-file template.yaml
	$(BIN)/sam validate --lint --template-file "$$($(BIN)/python -m devtools.build --arch x86_64 --template-only)"

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# sam build for ARCH (devtools/build.py), then compiled: sam build ships no .pyc, and Lambda's /opt and
# /var/task are read-only, so every cold start would compile the layer again (about 3x the init time).
build: $(STAMP)
	$(BIN)/python -m devtools.build --arch $(ARCH)

# Schemathesis and the isolation invariant (Hypothesis) for longer than `make test` does, with a new
# seed each time (override: FUZZ_SEED=..., FUZZ_EXAMPLES=...).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} FUZZ_SEED=$${FUZZ_SEED:-$$RANDOM} $(BIN)/python -m pytest \
		tests/e2e/test_fuzz.py tests/integration/test_isolation_invariant.py -v

openapi: $(STAMP)
	$(BIN)/python scripts/export_openapi.py

# Benchmarks build their own data on their own PostgreSQL and Redis; they are not part of `make test`.
# BENCH_SCALE=10m make bench also grows one database to 10M reservations (docs/benchmarks-scale.md).
bench: $(STAMP)
	$(BIN)/python bench/report.py $(if $(BENCH_SCALE),--scale $(BENCH_SCALE))

# A live API, local or deployed: make smoke URL=https://...  (SMOKE_EMAIL and SMOKE_PASSWORD of a
# verified account in the environment; ARGS="--origin https://rooms.example.org" for a web page's origin)
URL ?= http://127.0.0.1:3000
smoke: $(STAMP)
	$(BIN)/python scripts/smoke.py --url "$(URL)" $(ARGS)

migrate: $(STAMP)
	$(BIN)/python -m reservas.migrations upgrade

# make admin EMAIL=ops@example.com  (against DATABASE_URL; for `make dev`'s database see the README)
admin: $(STAMP)
	@test -n "$(EMAIL)" || { echo "usage: make admin EMAIL=someone@example.com" >&2; exit 2; }
	$(BIN)/python scripts/create_admin.py "$(EMAIL)"

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache
