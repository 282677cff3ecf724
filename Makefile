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

.PHONY: install run test lint migrate clean

install: $(STAMP) browser

# Debian's chromium for the browser test (tests/e2e): installed only when missing, as root,
# with apt-get (CI's fresh Debian machine); anywhere else one line says what is missing.
# A failed install does not stop `make`: the test then fails under CI=1 and skips elsewhere.
CHROMIUM_APT := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
.PHONY: browser
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for tests/e2e"; \
		$(CHROMIUM_APT) >/dev/null || { apt-get update -qq && $(CHROMIUM_APT) >/dev/null; } || \
			echo "could not install chromium: the browser test (tests/e2e) needs it"; \
	else echo "the browser test (tests/e2e) needs Debian's chromium (/usr/bin/chromium)"; fi

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

migrate: install
	$(LAUNCHER) manage migrate --noinput

# Stops private servers left under var/ and deletes var/ (the private database with it).
clean:
	@if [ -x $(VPY) ]; then $(LAUNCHER) stop; fi
	rm -rf var .pytest_cache .mypy_cache .ruff_cache *.egg-info build
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

# One earning period over 1M synthetic peers in a scratch database, against a count(*)
# baseline over the same rows (tests/bench/bonus_earning.py; BENCH_PEERS=... to resize).
.PHONY: bench-bonus
bench-bonus: install
	$(VPY) tests/bench/bonus_earning.py

# The live socket under load: idle sockets' memory and delivery latency in a 500-member
# room, the hub (consumers/hub.py) against naive per-socket group_send in the same run
# (tests/bench/realtime.py; BENCH_IDLE_SOCKETS, BENCH_ROOM_SOCKETS, BENCH_RATE, BENCH_SECONDS).
.PHONY: bench-realtime bench-ws
bench-realtime: install
	$(VPY) tests/bench/realtime.py

# The issue's name for the same benchmark.
bench-ws: bench-realtime

# The tracker under load: announces/s, p50/p99 and the ratio to a trivial ASGI app under
# the same server in the same run (tests/bench/announce_bench.py; wrk from Debian when it
# can be installed, else a Python load generator). BENCH_ARGS="--seconds 30" passes on.
.PHONY: bench-announce
bench-announce: install
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get install -y -qq wrk >/dev/null 2>&1; } || true
	$(VPY) tests/bench/announce_bench.py $(BENCH_ARGS)

# The tracker alone under uvicorn (the Procfile's `tracker`), for sites that give announces
# their own port; `make run` already serves /announce and /scrape through daphne. Uses
# DATABASE_URL / REDIS_URL as set (default: local servers), port TRACKER_PORT (8001).
.PHONY: tracker
tracker: install
	$(VENV)/bin/uvicorn announce.asgi:application --host $${TRACKER_HOST:-127.0.0.1} \
		--port $${TRACKER_PORT:-8001} --no-access-log --loop uvloop --http httptools
