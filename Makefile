# make run   install, provision PostgreSQL + Redis, migrate, demo data, web + worker + beat
# make test  install, provision, pytest (PYTEST_ARGS="-x tests/server" passes arguments on)
# Only python3 (3.11+) is needed; see README.md and server/launcher.py.

PYTHON ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
# Reinstalls when pyproject.toml changes; a no-op otherwise.
STAMP := $(VENV)/.installed
LAUNCHER := $(VPY) -m server.launcher
PYTEST_ARGS ?=

.PHONY: install system-tools run test lint imports migrate clean

install: $(STAMP) system-tools

# Debian packages that tests drive for real: chromium (tests/e2e) and mktorrent (a v1
# torrent made by a real tool, tests/frontend/torrents/test_real_tools.py). Installed only
# when missing, as root, with apt-get (CI's fresh Debian machine); anywhere else one line
# says what is missing. A failed install does not stop `make`: those tests then fail under
# CI=1 and skip elsewhere.
SYSTEM_TOOLS := /usr/bin/chromium:chromium /usr/bin/mktorrent:mktorrent
# The BitTorrent clients tests/announce/test_real_swarms.py swarms through our tracker.
SYSTEM_TOOLS += /usr/bin/aria2c:aria2 /usr/bin/transmission-cli:transmission-cli \
	/usr/bin/qbittorrent-nox:qbittorrent-nox /usr/bin/rtorrent:rtorrent \
	/usr/bin/deluged:deluged /usr/bin/deluge-console:deluge-console /usr/bin/ctorrent:ctorrent
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

system-tools:
	@missing=""; for t in $(SYSTEM_TOOLS); do [ -x "$${t%%:*}" ] || missing="$$missing $${t##*:}"; done; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's$$missing for the tests that drive them"; \
		$(APT_INSTALL) $$missing >/dev/null || { apt-get update -qq && $(APT_INSTALL) $$missing >/dev/null; } || \
			echo "could not install$$missing: tests/e2e and test_real_tools need them"; \
	else echo "some tests need Debian's$$missing (as root: apt-get install$$missing)"; fi

$(VPY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11+ is needed (PYTHON=$(PYTHON) is older)"; exit 1; }
	$(PYTHON) -m venv $(VENV) || \
		{ echo "could not create $(VENV): on Debian/Ubuntu install python3-venv"; exit 1; }

$(STAMP): pyproject.toml | $(VPY)
	$(VPY) -m pip install --quiet --disable-pip-version-check -e ".[dev,servers]"
	@touch $(STAMP)

run: install
	$(LAUNCHER) run

test: install
	$(LAUNCHER) test $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

# The import picture of the domain areas: who imports whom, the circles among them, the
# imports made inside functions (IMPORTS_ARGS=-v lists each one).
imports: install
	$(VPY) tests/lint/import_picture.py $(IMPORTS_ARGS)

migrate: install
	$(LAUNCHER) manage migrate --noinput

# Stops private servers left under var/ and deletes var/ (the private database with it).
clean:
	@if [ -x $(VPY) ]; then $(LAUNCHER) stop; fi
	rm -rf var .pytest_cache .mypy_cache .ruff_cache *.egg-info build
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

# Benchmarks import the settings, which need a secret key when DEBUG is off: this
# checkout's own (var/secret_key, made by the launcher on first use) unless one is given.
LOCAL_SECRET_KEY = $(shell $(VPY) -c 'from server.launcher import local_secret_key; print(local_secret_key())')
bench-%: export DJANGO_SECRET_KEY ?= $(LOCAL_SECRET_KEY)
# mypy's Django plugin loads the settings too.
lint: export DJANGO_SECRET_KEY ?= $(LOCAL_SECRET_KEY)

# One earning period over 1M synthetic peers in a scratch database, against a count(*)
# baseline over the same rows (tests/bench/bonus_earning.py; BENCH_PEERS=... to resize).
.PHONY: bench-bonus
bench-bonus: install
	$(VPY) tests/bench/bonus_earning.py

# The live socket under load: idle sockets' memory, a 1,000-member join storm, delivery
# latency in the room (with garbage senders and a stalled reader), a restart, two
# processes; the hub (consumers/hub.py) against naive per-socket group_send in the same run
# (tests/bench/realtime.py; BENCH_IDLE_SOCKETS, BENCH_ROOM_SOCKETS, BENCH_RATE, BENCH_SECONDS,
# BENCH_PHASES).
.PHONY: bench-realtime bench-ws
bench-realtime: install
	$(VPY) tests/bench/realtime.py

# The issue's name for the same benchmark.
bench-ws: bench-realtime

# The tracker under load (tests/bench/announce_bench.py): cold start from an empty Redis
# at 50k members / 200k torrents, warm announces/s against Debian's opentracker and a
# trivial ASGI app on the same request sequence, two processes and their accounting. wrk
# and opentracker from Debian when they can be installed. BENCH_ARGS="--seconds 30" passes on.
.PHONY: bench-announce
bench-announce: install
	@for t in wrk opentracker; do command -v $$t >/dev/null || { [ "$$(id -u)" = 0 ] && \
		command -v apt-get >/dev/null && apt-get install -y -qq $$t >/dev/null 2>&1; } || true; done
	$(VPY) tests/bench/announce_bench.py $(BENCH_ARGS)

# The tracker alone on its own server (announce/server.py, the Procfile's `tracker`), for
# sites that give announces their own port; `make run` already serves /announce and /scrape
# through daphne. Uses DATABASE_URL / REDIS_URL as set (default: local servers), port
# TRACKER_PORT (8001), TRACKER_WORKERS processes on it (1).
.PHONY: tracker
tracker: install
	$(VPY) -m announce.server --host $${TRACKER_HOST:-127.0.0.1} \
		--port $${TRACKER_PORT:-8001} --workers $${TRACKER_WORKERS:-1}

# The machine face at scale: Torznab searches and the API filters at 200k torrents, p50/p95
# and queries per request, against the HTML browse page on the same data in the same run
# (tests/bench/api_bench.py; BENCH_TORRENTS, BENCH_REQUESTS).
.PHONY: bench-api
bench-api: install
	$(VPY) tests/bench/api_bench.py

# The hit-and-run job over 1M torrent_history rows in a scratch database, against a
# count(*) baseline over the same rows (tests/bench/hnr_job.py; BENCH_ROWS=... to resize).
.PHONY: bench-hnr
bench-hnr: install
	$(VPY) tests/bench/hnr_job.py

# The requests browse page (50k requests) beside the torrents browse page (200k torrents),
# every filter and sort, p50/p95 and queries per page in the same run; the top 10 refresh
# over 1M peer_history_daily rows against a count(*) over them (tests/bench/catalog_bench.py;
# BENCH_TORRENTS, BENCH_REQUESTS, BENCH_USERS, BENCH_HISTORY, BENCH_PAGES).
.PHONY: bench-catalog
bench-catalog: install
	$(VPY) tests/bench/catalog_bench.py
