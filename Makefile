# The two commands of the README: `make run` (the embedded portal) and `make test` (the suite).
# Everything else is what they need. Stamps keep a second run fast.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
UV := $(VENV)/bin/uv
PY := $(VENV)/bin/python
VENDOR := static/vendor
OIDC_IDP := tests/services/oidc

export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test test-packages install lint format lock bench soak clean

run: install
	$(PY) manage.py runembedded

test: install test-packages
	# The embedded default first (SQLite, filesystem broker), whatever the environment says...
	env -u DATABASE_URL -u REDIS_URL $(VENV)/bin/pytest -m embedded -q
	# ...then the whole suite, on PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set.
	$(VENV)/bin/pytest -q

install: $(VENV)/.synced $(VENDOR)/.copied

$(VENV)/.synced: pyproject.toml uv.lock
	test -x $(UV) || { $(PYTHON) -m venv $(VENV) && $(VENV)/bin/pip install --quiet "uv>=0.9,<0.14"; }
	$(UV) sync --frozen --quiet
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(VENDOR)/.copied: node_modules/.package-lock.json scripts/vendor-assets.sh
	scripts/vendor-assets.sh

test-packages: $(OIDC_IDP)/node_modules/.package-lock.json
	scripts/install-test-packages.sh

# The OpenID Connect provider the OIDC realm tests sign in at (npm's oidc-provider, locked).
$(OIDC_IDP)/node_modules/.package-lock.json: $(OIDC_IDP)/package.json $(OIDC_IDP)/package-lock.json
	npm ci --prefix $(OIDC_IDP) --no-audit --no-fund --loglevel=error

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lock:
	$(UV) lock
	npm install --package-lock-only --no-audit --no-fund
	npm install --prefix $(OIDC_IDP) --package-lock-only --no-audit --no-fund

bench: install
	$(PY) bench/run_all.py

# The soak: mixed tenant traffic under faults, kills and restarts for SOAK_MINUTES (default 30).
SOAK_MINUTES ?= 30
soak: install test-packages
	$(PY) -m soak --minutes $(SOAK_MINUTES)

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var
