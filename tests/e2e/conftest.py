"""End-to-end fixtures: the real ASGI app under daphne (HTTP and the /ws/ socket, which
pytest-django's WSGI live_server cannot serve) on the test database, and Debian's headless
Chromium driven over the DevTools protocol (tests/e2e/cdp.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from tests.conftest import TEST_CACHE_PREFIX
from tests.e2e.cdp import Browser, launch_chromium, stop_process_group

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def chromium_binary() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        reason = (f"{CHROMIUM} is missing: the browser test needs Debian's chromium "
                  "(`make install` as root installs it)")
        if os.environ.get("CI"):
            # CI must not lose the browser coverage silently.
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _database_url() -> str:
    db = settings.DATABASES["default"]  # NAME is the test database once it is set up
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return (f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
            f"/{quote(db['NAME'], safe='')}")


class Daphne:
    """daphne serving server.asgi on the test database, on one port across restarts."""

    def __init__(self, log_path: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "server.settings",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Rate-limit counters land under this process's test prefix, emptied after each
            # test; channel groups get a prefix of their own so no other run hears our events.
            "CACHE_PREFIX": TEST_CACHE_PREFIX,
            "CHANNELS_PREFIX": f"e2e{os.getpid()}",
            "DB_CONN_MAX_AGE": "0",
        }
        self.env.pop("DATABASE_TEST_NAME", None)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = proc = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                 "server.asgi:application"],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"daphne exited with {proc.returncode}:\n"
                                   f"{self.log_path.read_text(errors='replace')[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("daphne did not listen within 30s") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process_group(self.proc)
            self.proc = None


@pytest.fixture
def daphne_server(transactional_db: None, tmp_path: Path) -> Iterator[Daphne]:
    """A daphne the test may stop and start again (same port, same database). Depends on
    transactional_db so it stops before Django empties the tables after the test."""
    server = Daphne(tmp_path / "daphne.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        # Shown only when the test fails, to say what the server saw.
        sys.stdout.write(server.log_path.read_text(errors="replace")[-5000:])


@pytest.fixture
def asgi_server(daphne_server: Daphne) -> str:
    """Base URL of daphne serving server.asgi on the test database."""
    return daphne_server.url


@pytest.fixture
def browser(chromium_binary: str, tmp_path: Path) -> Iterator[Browser]:
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    proc, ws_url = launch_chromium(chromium_binary, profile, tmp_path / "chromium.log")
    try:
        client = Browser(ws_url)
        try:
            yield client
        finally:
            client.close()
    finally:
        stop_process_group(proc)
