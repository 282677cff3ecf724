"""Real server processes for socket tests that need more than the in-process communicator:
daphne serving server.asgi on the test database and the test run's channel-layer prefix
(so this process's group_send reaches them, and two of them share rooms through the real
channels-redis), and websockets clients logged in with a session cookie."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings

from tests.conftest import TEST_CACHE_PREFIX

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
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


def channels_prefix() -> str:
    layers: Any = settings.CHANNEL_LAYERS
    return str(layers["default"]["CONFIG"].get("prefix", "asgi"))


class Daphne:
    """One daphne process; `stop` and `start` again on the same port is a restart."""

    def __init__(self, log_path: Path, *, port: int | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "server.settings",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CACHE_PREFIX": TEST_CACHE_PREFIX,
            "CHANNELS_PREFIX": channels_prefix(),
            "DB_CONN_MAX_AGE": "0",
            **(env or {}),
        }
        self.env.pop("DATABASE_TEST_NAME", None)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                 "server.asgi:application"],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.proc.returncode}:\n"
                                   f"{self.log()[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("daphne did not listen within 60s") from None
                time.sleep(0.1)

    def stop(self) -> None:
        from tests.e2e.cdp import stop_process_group

        if self.proc is not None:
            stop_process_group(self.proc)
            self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def daphne(log_path: Path, **env: str) -> Iterator[Daphne]:
    server = Daphne(log_path, env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        # Shown only when the test fails, to say what the server saw.
        sys.stdout.write(server.log()[-5000:])


def session_cookie(user: Any) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def connect(server: Daphne, cookie: str, **options: Any) -> Any:
    """An open, greeted websockets client of `server`."""
    from websockets.asyncio.client import connect as ws_connect

    ws = await ws_connect(f"ws://127.0.0.1:{server.port}/ws/",
                          additional_headers={"Cookie": cookie, "Origin": server.url},
                          ping_interval=None, open_timeout=30, close_timeout=2, **options)
    hello = json.loads(await ws.recv())
    assert hello["type"] == "hello", hello
    return ws


async def frames_until(ws: Any, until: Any, timeout: float = 15) -> list[dict[str, Any]]:
    """Frames from `ws` until one matches `until` (a generous wait, not a timing check)."""
    import asyncio

    frames: list[dict[str, Any]] = []

    async def read() -> None:
        while not frames or not until(frames[-1]):
            frames.append(json.loads(await ws.recv()))

    await asyncio.wait_for(read(), timeout)
    return frames
