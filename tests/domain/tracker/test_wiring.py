"""Wiring: the beat schedule runs the flush and the reaper with periods from settings, a
real worker drains the buffer, server/asgi.py sends /announce and /scrape to the tracker
ahead of Django, and the Procfile's standalone `tracker` process serves announces."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import bencodepy
import pytest
from asgiref.sync import async_to_sync
from celery.contrib.testing.worker import start_worker

from domain.accounts.models import UserStatistics
from domain.tracker.tasks import tracker_flush_task
from server.celery import app
from tests.announce.factories import announce, peer_id, query
from tests.factories import make_torrent, make_user

ROOT = Path(__file__).resolve().parents[3]


def test_beat_runs_flush_and_reaper_with_periods_from_settings(settings):
    schedule = app.conf.beat_schedule
    assert schedule["tracker-flush"] == {"task": "tracker.flush",
                                         "schedule": float(settings.TRACKER_FLUSH_SECONDS)}
    assert schedule["tracker-reap-stale-peers"] == {
        "task": "tracker.reap_stale_peers", "schedule": float(settings.TRACKER_REAP_SECONDS)}
    app.loader.import_default_modules()
    assert {"tracker.flush", "tracker.reap_stale_peers"} <= set(app.tasks)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_flushes_the_buffer(settings):
    settings.TRACKER_MIN_INTERVAL = 0
    user = make_user("member")
    torrent = make_torrent()
    pid = peer_id()
    announce(user, bytes(torrent.info_hash_v1), pid, left=0, event="started")
    announce(user, bytes(torrent.info_hash_v1), pid, uploaded=12345, left=0)
    queue = f"test-{uuid.uuid4().hex}"
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue],
                      shutdown_timeout=10):
        assert tracker_flush_task.apply_async(queue=queue).get(timeout=30) == 2
    assert UserStatistics.objects.get(user=user).uploaded == 12345


def _asgi(path: str, qs: bytes = b"") -> tuple[int, bytes]:
    from server.asgi import application

    sent: list[dict] = []

    async def run() -> None:
        import asyncio

        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # the client stays connected until the reply
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        await application({"type": "http", "method": "GET", "path": path,
                           "query_string": qs, "headers": [(b"host", b"testserver")],
                           "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
                           "scheme": "http", "http_version": "1.1", "root_path": "",
                           "asgi": {"version": "3.0"}}, receive, send)

    async_to_sync(run)()
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.django_db(transaction=True)  # Django's handler recycles the connection
def test_server_asgi_mounts_the_tracker_ahead_of_django():
    member = make_user("member")
    torrent = make_torrent()
    status, body = _asgi(f"/announce/{member.passkey}", query(
        info_hash=bytes(torrent.info_hash_v1), peer_id=peer_id(), port=6881, uploaded=0,
        downloaded=0, left=0))
    assert status == 200 and bencodepy.decode(body)[b"complete"] == 1
    status, body = _asgi(f"/scrape/{member.passkey}", b"")
    assert status == 200 and b"failure reason" in body
    status, body = _asgi("/healthz")
    assert status == 200 and b"failure reason" not in body  # Django still answers the rest
    status, body = _asgi("/announcements-page-that-is-not-ours")
    assert status == 404 and b"failure reason" not in body


def _procfile_tracker(port: int) -> list[str]:
    """The Procfile's `tracker` line, as a process manager would run it (port given)."""
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines()
                if x.startswith("tracker:"))
    command = line.partition(":")[2].replace("${TRACKER_PORT:-8001}", str(port))
    # The test listens on loopback only, not on every interface as the Procfile does.
    command = command.replace("${TRACKER_WORKERS:-1}", "1").replace(
        "0.0.0.0", "127.0.0.1")  # noqa: S104
    argv = shlex.split(command)
    assert argv[0] == "python"
    return [sys.executable, *argv[1:]]


@pytest.mark.parametrize("front", ["procfile", "uvicorn"])
def test_standalone_tracker_process_serves_announces(front):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uvicorn = Path(sys.executable).with_name("uvicorn")
    argv = _procfile_tracker(port) if front == "procfile" else [
        str(uvicorn), "announce.asgi:application", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--loop", "uvloop", "--http", "httptools"]
    proc = subprocess.Popen(argv, cwd=ROOT, env=os.environ.copy())
    try:
        body = b""
        for _ in range(200):
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/announce/{'0' * 32}?port=1", timeout=2) as r:
                    assert r.status == 200
                    body = r.read()
                break
            except OSError:
                time.sleep(0.05)
        assert bencodepy.decode(body) == {
            b"failure reason": b"Malformed request: info_hash is missing."}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
