# The two commands the README opens with:
#   make run   - install, migrate, load demo data, start web + worker + beat on :8000
#   make test  - install what the tests need and run the suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test install install-dev dns-tools browser-tools proxy-tools bench-tools lint format migrations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	mkdir -p var/broker var/broker-control
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py load_demo_domains
	$(BIN)/python manage.py load_demo_store
	PYTHONUNBUFFERED=1 $(BIN)/honcho start -f Procfile.dev

test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

# The DNS integration tests run a real Knot DNS server and an Unbound resolver on loopback;
# without them those tests skip (CI installs them and never skips).
dns-tools:
	apt-get update -qq && apt-get install -y -qq --no-install-recommends knot knot-dnsutils unbound

# The browser tests drive Debian's Chromium headless; without it they skip (CI installs it).
browser-tools:
	apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core

# The end-to-end TLS tests put Debian's Caddy in front of the app; without it they skip (CI
# installs it).
proxy-tools:
	apt-get update -qq && apt-get install -y -qq --no-install-recommends caddy

# bench/http_load.py's load generator.
bench-tools:
	apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrations: install-dev
	$(BIN)/python manage.py makemigrations

clean:
	rm -rf $(VENV) var db.sqlite3 db.sqlite3-* staticfiles
