# Throughcare: two commands on a fresh machine.
#   make run    the broker, the five services and a demo (Ctrl-C stops everything)
#   make test   lint, unit, integration on a real broker, end to end
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint unit broker-fetch broker-tools broker-start broker-stop browser kcat frontdoor keycloak prometheus leaflet clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

broker-fetch:
	deploy/kafka/kafka.sh fetch

# Kafka's console tools (kafka-tools from Maven Central): the credential tests use them.
broker-tools:
	deploy/kafka/kafka.sh tools

# Pages are tested in Debian's Chromium (never a browser downloaded by Playwright).
browser:
	deploy/browser.sh

# Debian's kcat: the credential tests check the librdkafka file with `kcat -F`.
kcat:
	deploy/kcat.sh

# The front door (one origin, TLS from the project's CA) is Debian's nginx.
frontdoor:
	deploy/frontdoor.sh

# Debian's Prometheus: make run scrapes every service with it, make test runs the alert
# rules' own tests in its promtool.
prometheus:
	deploy/prometheus.sh

# A real OpenID Connect provider for the tests of a force's own sign-in (Maven Central).
keycloak:
	deploy/keycloak/keycloak.sh fetch

# Leaflet from npm (pinned, integrity checked) for the console's map over a tile server.
leaflet:
	deploy/leaflet/leaflet.sh fetch

broker-start: $(STAMP) broker-fetch
	deploy/kafka/kafka.sh start

broker-stop:
	deploy/kafka/kafka.sh stop

run: $(STAMP) broker-fetch frontdoor prometheus leaflet
	$(PY) deploy/run.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

# The session fixture starts its own broker (own port and data folder) and stops it.
# Temporary folders (the broker's data among them) under var/: pytest keeps only the last
# three runs in /tmp/pytest-of-USER, so on a machine shared by several checkouts another
# run could delete this run's broker folder while it is in use.
test: $(STAMP) broker-fetch broker-tools browser kcat frontdoor keycloak prometheus leaflet lint
	@mkdir -p var  # pytest makes --basetemp itself but not its parent, absent on a clean clone
	$(PY) -m pytest -q -p no:cacheprovider --basetemp=var/pytest

bench: $(STAMP) broker-fetch
	$(PY) -m bench

clean:
	rm -rf var .pytest_cache .ruff_cache .hypothesis
