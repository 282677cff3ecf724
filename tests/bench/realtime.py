"""`make bench-realtime`: the live socket under load, against the naive baseline, in one run.

Makes a scratch database (created and dropped here; dev and test databases are left alone),
migrates it, logs in BENCH_MEMBERS members, then for each of two apps served by one daphne
process (tests/bench/realtime_app.py; a fresh process per measurement):
  - hub:   the real LiveConsumer (/ws/): one channel-layer delivery per process, fanned out
           locally from one pre-encoded frame (consumers/hub.py);
  - naive: the baseline (/ws-naive/): every socket joins the room's group and encodes
           each event itself, the per-socket group_send DESIGN.md measured;
it measures:
  1. idle: BENCH_IDLE_SOCKETS authenticated sockets held open; the server's RSS growth
     per socket (KiB);
  2. room: BENCH_ROOM_SOCKETS sockets in chat room "general"; BENCH_RATE messages/s for
     BENCH_SECONDS published to the room's group; delivery latency p50/p99 (publish to the
     client's receive, same machine clock) and frames not delivered within 3 s of the last
     publish ("lost": dropped by a full channel, or too late to count).
and prints the figures and ratios naive/hub. Clients run in this process (websockets).
Targets (issue 6): 5,000 idle sockets under 100 KiB each; p99 < 100 ms in a 500 room.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dj_database_url
import psutil
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parents[2]
IDLE = int(os.environ.get("BENCH_IDLE_SOCKETS", "5000"))
ROOM = int(os.environ.get("BENCH_ROOM_SOCKETS", "500"))
RATE = float(os.environ.get("BENCH_RATE", "10"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
MEMBERS = int(os.environ.get("BENCH_MEMBERS", "20"))
# Which apps to measure (a comma list of naive, hub): the ratios need both.
APPS = [a for a in os.environ.get("BENCH_APPS", "naive,hub").split(",") if a]
CONNECT_CONCURRENCY = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One daphne process serving tests/bench/realtime_app.py."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
             "--websocket_connect_timeout", "60", "tests.bench.realtime_app:application"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    raise RuntimeError(err[-2000:]) from None
                time.sleep(0.2)
        raise RuntimeError("daphne did not start")

    def rss_kib(self) -> float:
        return psutil.Process(self.proc.pid).memory_info().rss / 1024

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def open_sockets(port: int, path: str, cookies: list[str], count: int) -> list[Any]:
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(n: int) -> Any:
        async with gate:
            ws = await connect(f"ws://127.0.0.1:{port}{path}", max_size=2**20,
                               additional_headers={"Cookie": cookies[n % len(cookies)],
                                                   "Origin": f"http://127.0.0.1:{port}"},
                               ping_interval=None, open_timeout=60)
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello", hello
            return ws

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def close_all(sockets: list[Any]) -> None:
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


async def measure_idle(port: int, path: str, cookies: list[str], server: Server
                       ) -> dict[str, float]:
    warm = await open_sockets(port, path, cookies, 20)
    await asyncio.sleep(1)
    before = server.rss_kib()
    started = time.perf_counter()
    sockets = await open_sockets(port, path, cookies, IDLE)
    opened = time.perf_counter() - started
    await asyncio.sleep(2)
    after = server.rss_kib()
    await close_all(sockets + warm)
    return {"kib_per_socket": (after - before) / IDLE, "open_s": opened}


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


async def measure_room(port: int, path: str, cookies: list[str], server: Server
                       ) -> dict[str, float]:
    from channels.layers import get_channel_layer

    from domain.community.events import event_id
    from domain.events import chat_room_group

    sockets = await open_sockets(port, path, cookies, ROOM)
    for n, ws in enumerate(sockets):
        await ws.send(json.dumps({"type": "subscribe", "stream": "chat:general", "id": n}))

    latencies: list[float] = []
    received = 0

    async def reader(ws: Any) -> None:
        nonlocal received
        async for raw in ws:
            frame = json.loads(raw)
            sent = frame.get("payload", {}).get("sent")
            if frame.get("event") == "chat.message" and sent is not None:
                latencies.append(time.time() - sent)
                received += 1

    readers = [asyncio.create_task(reader(ws)) for ws in sockets]
    # Let subscriptions (and, for the hub, the presence broadcasts they cause) settle.
    await asyncio.sleep(3 + ROOM / 200)
    layer = get_channel_layer()
    group = chat_room_group("general")
    author = str(uuid.uuid4())
    total = int(RATE * SECONDS)
    server_cpu, client_cpu = cpu_seconds(server.proc.pid), cpu_seconds(os.getpid())
    profiler = None
    if os.environ.get("BENCH_PYSPY"):  # a py-spy profile of the server while publishing
        spy = shutil.which("py-spy") or str(ROOT / ".venv/bin/py-spy")
        if not Path(spy).exists():
            raise SystemExit("BENCH_PYSPY needs py-spy: .venv/bin/pip install py-spy")
        profiler = subprocess.Popen(
            [spy, "record", "-p", str(server.proc.pid), "-d", str(int(SECONDS)), "-r",
             "250", "--format", "raw", "-o", os.environ["BENCH_PYSPY"]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.monotonic()
    for n in range(total):
        await asyncio.sleep(max(0.0, start + n / RATE - time.monotonic()))
        now = time.time()
        await layer.group_send(group, {"type": "chat.message", "payload": {
            "event_id": event_id(datetime.now(UTC)),
            "id": str(uuid.uuid4()), "room": "general", "user_id": author,
            "username": "bench", "body": "x" * 120, "created_at": "", "edited": False,
            "deleted": False, "sent": now}})
    await asyncio.sleep(3)
    window = time.monotonic() - start
    if profiler is not None:
        profiler.wait()
    server_cpu = (cpu_seconds(server.proc.pid) - server_cpu) / window
    client_cpu = (cpu_seconds(os.getpid()) - client_cpu) / window
    for task in readers:
        task.cancel()
    await close_all(sockets)
    latencies.sort()
    expected = total * ROOM
    return {
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies
        else float("nan"),
        "lost": expected - received,
        # Share of one core while publishing: a server near 1.0 is the bottleneck; a client
        # near 1.0 means the measuring side limits the figure on this machine.
        "server_cpu": server_cpu, "client_cpu": client_cpu,
    }


def main() -> int:
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tracker")
    db = dj_database_url.parse(base_url)
    name = f"bench_realtime_{os.getpid()}"
    admin = make_conninfo(host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"],
                          password=db["PASSWORD"] or None, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    env = dict(os.environ)
    env["DATABASE_URL"] = (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@"
                           f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}")
    env["CHANNELS_PREFIX"] = f"bench{os.getpid()}"
    env["LOG_LEVEL"] = "WARNING"
    env["DJANGO_SETTINGS_MODULE"] = "server.settings"
    env["PYTHONPATH"] = str(ROOT)
    os.environ.update(env)
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.test import Client

        from tests.factories import make_user

        print(f"bench-realtime: idle {IDLE} sockets; room {ROOM} sockets, {RATE:g} msg/s "
              f"for {SECONDS:g} s; {MEMBERS} members", flush=True)
        call_command("migrate", verbosity=0, interactive=False)
        # The clients share this process: its own collector pauses would count as delivery
        # latency, so it gets the server's settings (server/gctuning.py).
        from server.gctuning import tune_for_server

        tune_for_server()
        cookies = []
        for _ in range(MEMBERS):
            client = Client()
            client.force_login(make_user("member"))
            cookies.append(f"{settings.SESSION_COOKIE_NAME}="
                           f"{client.cookies[settings.SESSION_COOKIE_NAME].value}")
        results: dict[str, dict[str, float]] = {}
        for label, path in (("naive", "/ws-naive/"), ("hub", "/ws/")):
            if label not in APPS:
                continue
            server = Server(env)
            try:
                idle = asyncio.run(measure_idle(server.port, path, cookies, server))
            finally:
                server.stop()
            server = Server(env)
            try:
                room = asyncio.run(measure_room(server.port, path, cookies, server))
            finally:
                server.stop()
            results[label] = {**idle, **room}
            r = results[label]
            print(f"  {label:5}: idle {r['kib_per_socket']:.1f} KiB/socket "
                  f"(opened in {r['open_s']:.1f} s); room p50 {r['p50_ms']:.1f} ms, "
                  f"p99 {r['p99_ms']:.1f} ms, lost {int(r['lost'])}; CPU server "
                  f"{r['server_cpu']:.0%}, clients {r['client_cpu']:.0%}", flush=True)
        if "naive" not in results or "hub" not in results:
            return 0
        naive, hub = results["naive"], results["hub"]
        print("ratios (naive / hub; above 1 means the hub is better):")
        print(f"  memory per idle socket: {naive['kib_per_socket'] / hub['kib_per_socket']:.2f}")
        print(f"  room delivery p50:      {naive['p50_ms'] / hub['p50_ms']:.2f}")
        print(f"  room delivery p99:      {naive['p99_ms'] / hub['p99_ms']:.2f}")
        idle_ok = "met" if hub["kib_per_socket"] < 100 else "MISSED"
        p99_ok = "met" if hub["p99_ms"] < 100 else "MISSED"
        print(f"targets (hub): idle < 100 KiB/socket {idle_ok}; p99 < 100 ms {p99_ok}")
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
