"""The tracker's accounting across a Redis restart and kill -9 of the tracker and of the
worker, with real processes: a Redis of our own with the tracker's persistence settings
(server/launcher.py TRACKER_REDIS_ARGS), the standalone tracker under uvicorn, a Celery
worker. Members announce over HTTP like clients (a failed announce is sent again later,
with the counters of that moment); at the end every member's user_statistics must hold
exactly what its client reported, no byte lost or counted twice - even after Redis itself
is killed with SIGKILL mid-load, since its lost last second takes the peers' baselines with
it and the flush writes nothing younger than TRACKER_FLUSH_DURABLE_SECONDS."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import bencodepy
import pytest
import redis
from django.db import connection

from domain.accounts.models import UserStatistics
from domain.tracker import store
from domain.tracker.flush import set_aside_count, tracker_flush
from domain.tracker.models import Announce
from server.launcher import TRACKER_REDIS_ARGS
from tests.announce.factories import peer_id, query
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[3]
MEMBERS = 12
STEP = 1_000_000  # bytes each member reports more per round


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, redis.RedisError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout} s")


class Redis:
    def __init__(self, directory: Path):
        self.directory, self.port = directory, _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.client = redis.Redis(port=self.port, socket_timeout=5)

    def start(self) -> None:
        exe = shutil.which("redis-server")
        assert exe, "redis-server is needed (Debian package redis-server)"
        self.proc = subprocess.Popen(
            [exe, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             *TRACKER_REDIS_ARGS, "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(lambda: self.client.ping(), "redis-server answering")
        _wait(lambda: self.client.info("persistence")["loading"] == 0, "AOF loaded")

    def restart(self) -> None:
        """What an operator's restart does: SHUTDOWN (fsyncs the AOF), start again."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.start()

    def crash(self) -> None:
        """kill -9: what was written in the last second may be gone (appendfsync everysec)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


class Child:
    """A process of ours: started, killed with SIGKILL, started again."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.args, self.env = args, env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Client:
    """One member's BitTorrent client: cumulative counters, re-sent after a failure."""

    def __init__(self, user, info_hash: bytes):
        self.user, self.info_hash, self.pid = user, info_hash, peer_id()
        self.uploaded = self.downloaded = 0
        self.started = False
        self.failures = 0

    def announce(self, port: int, event: str | None = None) -> bool:
        params = dict(info_hash=self.info_hash, peer_id=self.pid, port=6881,
                      uploaded=self.uploaded, downloaded=self.downloaded, left=0, compact=1)
        if event or not self.started:
            params["event"] = event or "started"
        url = f"http://127.0.0.1:{port}/announce/{self.user.passkey}?{query(**params).decode()}"
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                body = bencodepy.decode(reply.read())
        except (OSError, bencodepy.BencodeDecodeError):
            body = {b"failure reason": b"no answer"}
        if b"failure reason" in body:
            self.failures += 1
            return False
        self.started = True
        return True


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _until_answering(port: int) -> None:
    def answers() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/announce/x?port=1",
                                    timeout=2) as r:
            return r.status == 200
    _wait(answers, "the tracker answering")


def test_redis_restart_and_kill_9_lose_and_double_nothing(settings, tmp_path):
    from domain.tracker.tasks import tracker_flush_task

    prefix = f"trk-restart-{uuid.uuid4().hex[:8]}"
    rds = Redis(tmp_path)
    rds.start()
    url = f"redis://127.0.0.1:{rds.port}/0"
    settings.TRACKER_REDIS_URL = url
    settings.TRACKER_REDIS_PREFIX = prefix
    settings.TRACKER_FLUSH_DURABLE_SECONDS = 1.5
    settings.TRACKER_FLUSH_BATCH = 40
    queue = f"test-restart-{uuid.uuid4().hex}"
    env = {**os.environ, "DATABASE_URL": _database_url(), "TRACKER_REDIS_URL": url,
           "TRACKER_REDIS_PREFIX": prefix, "TRACKER_MIN_INTERVAL": "0",
           "TRACKER_INTERVAL_JITTER": "0", "TRACKER_MAX_RATE": str(10**15),
           "TRACKER_MAX_DOWNLOAD_FACTOR": str(10**6), "TRACKER_FLUSH_DURABLE_SECONDS": "1.5",
           "TRACKER_FLUSH_BATCH": "40", "DB_CONN_MAX_AGE": "0"}
    port = _free_port()
    # The Procfile's tracker: its own server (announce/server.py).
    tracker = Child([sys.executable, "-m", "announce.server", "--host", "127.0.0.1",
                     "--port", str(port)], env)
    worker = Child([sys.executable, "-m", "celery", "-A", "server", "worker", "-P", "solo",
                    "-Q", queue, "-l", "critical", "--without-heartbeat", "--without-mingle",
                    "--without-gossip"], env)
    torrents = [make_torrent() for _ in range(3)]
    clients = [Client(make_user("member"), bytes(torrents[n % 3].info_hash_v1))
               for n in range(MEMBERS)]
    rng = random.Random(11)
    try:
        tracker.start()
        worker.start()
        _until_answering(port)

        def load(rounds: int) -> None:
            for _ in range(rounds):
                for c in clients:
                    c.uploaded += rng.randint(1, STEP)
                    c.downloaded += rng.randint(0, STEP)
                    c.announce(port)  # a failure is simply sent again next round

        for c in clients:  # started, at 0: every later byte is a delta the tracker credits
            assert c.announce(port)
        load(3)
        tracker_flush_task.apply_async(queue=queue)
        load(3)
        rds.restart()  # mid-load: the tracker's connections drop and come back
        load(3)
        tracker.kill9()
        load(1)  # nobody answers: every client fails and keeps its counters
        tracker.start()
        _until_answering(port)
        load(3)
        # kill -9 the worker mid-flush: after its take, before its write (the durable wait).
        tracker_flush_task.apply_async(queue=queue)
        _wait(lambda: rds.client.exists(f"{prefix}:flushing"), "the worker taking a batch")
        worker.kill9()
        load(3)
        rds.restart()
        worker.start()
        load(2)
        # Redis itself killed mid-load: announces acknowledged in its last second may be
        # lost, and with them their peers' new baselines, so the next announce credits
        # those bytes (once: the flush writes nothing Redis could still lose).
        tracker_flush_task.apply_async(queue=queue)
        load(1)
        rds.crash()
        load(3)
        for c in clients:
            while not c.announce(port, "stopped"):
                time.sleep(0.1)
        # Whatever the killed worker held is taken again; a running worker drains the rest.
        assert tracker_flush_task.apply_async(queue=queue).get(timeout=120) >= 0
        while rds.client.llen(f"{prefix}:buf") or rds.client.exists(f"{prefix}:flushing"):
            tracker_flush()
        assert set_aside_count() == 0
    finally:
        tracker.stop()
        worker.stop()
        rds.stop()

    assert sum(c.failures for c in clients) > 0  # the restarts and kills were felt
    for c in clients:
        s = UserStatistics.objects.get(user=c.user)
        assert (s.uploaded_raw, s.downloaded_raw) == (c.uploaded, c.downloaded), c.user
        assert (s.uploaded, s.downloaded) == (c.uploaded, c.downloaded), c.user
    assert Announce.objects.filter(user__in=[c.user for c in clients],
                                   event="stopped").count() == MEMBERS
    assert store.url() == url
