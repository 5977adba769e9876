# The two commands of the README: `make demo` runs the hub, `make test` runs every check.
# Both install what they need on a fresh machine first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
OIDC_DIR := tests/e2e/oidc
AXE_DIR := tests/e2e/axe
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: demo test install lint test-sqlite test-postgres browser oidc-provider axe postgres messages language

demo: $(INSTALLED)
	$(BIN)/hub demo

test: lint test-sqlite test-postgres

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

lint: $(INSTALLED)
	$(BIN)/ruff format --check hub tests bench
	$(BIN)/ruff check hub tests bench
	$(BIN)/mypy

# Tests run on as many processes as the machine has cores (each with its own database).
PYTEST := $(BIN)/pytest -n auto --dist loadfile

# Every test, browser tests included, on SQLite.
test-sqlite: $(INSTALLED) browser oidc-provider axe
	$(PYTEST)

# The database tests again on PostgreSQL (the browser tests need no second run).
test-postgres: $(INSTALLED) postgres
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(subst +psycopg,,$(PG_TEST_URL))', connect_timeout=3).close()" 2>/dev/null; then \
		HUB_TEST_DATABASE_URL='$(PG_TEST_URL)' $(PYTEST) -m "not e2e"; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL is not reachable at $(PG_TEST_URL), and CI needs it." >&2; exit 1; \
	else \
		echo "*** PostgreSQL is not reachable at $(PG_TEST_URL): the PostgreSQL run was NOT done. ***" >&2; \
	fi

# Translations (README: "Languages"). `make messages` after changing any English text:
# it collects every marked string into messages.pot, adds the new ones to each language's
# messages.po (to translate there), and compiles them. `make language LANGUAGE=fr` starts a
# new language from messages.pot; the hub offers it as soon as its messages.po exists.
TRANSLATIONS := hub/translations

messages: $(INSTALLED)
	$(BIN)/pybabel -q extract -F $(TRANSLATIONS)/babel.cfg -k lazy_gettext --add-location=file \
		--sort-by-file --project="Alliance Hub" -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel -q update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching
	$(BIN)/pybabel compile -d $(TRANSLATIONS) --statistics

language: $(INSTALLED)
	@test -n "$(LANGUAGE)" || { echo "Name the language: make language LANGUAGE=fr" >&2; exit 1; }
	$(BIN)/pybabel init -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l $(LANGUAGE)

# Debian's Chromium for the browser tests (Playwright cannot download its own here), with
# Latin and Chinese fonts (a small CJK font, so the Chinese screenshots show characters).
BROWSER_PACKAGES := chromium fonts-liberation fonts-wqy-microhei

browser:
	@if [ ! -x $(CHROMIUM) ] || ! dpkg -s fonts-wqy-microhei >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		export DEBIAN_FRONTEND=noninteractive; \
		$$SUDO apt-get install -y -q $(BROWSER_PACKAGES) </dev/null \
		|| { $$SUDO apt-get update -q </dev/null && $$SUDO apt-get install -y -q $(BROWSER_PACKAGES) </dev/null; }; \
	fi

# node's oidc-provider: the real third-party identity provider of the login tests.
oidc-provider: $(OIDC_DIR)/node_modules/.installed

$(OIDC_DIR)/node_modules/.installed: $(OIDC_DIR)/package.json $(OIDC_DIR)/package-lock.json
	cd $(OIDC_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# axe-core: the accessibility checker the browser tests inject into every page.
axe: $(AXE_DIR)/node_modules/.installed

$(AXE_DIR)/node_modules/.installed: $(AXE_DIR)/package.json $(AXE_DIR)/package-lock.json
	cd $(AXE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Start the machine's PostgreSQL cluster if it is installed but down.
postgres:
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || true; \
		for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi
