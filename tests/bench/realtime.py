"""`make bench-realtime`: the live socket at 1,000 members, against the naive baseline, in
one run.

Makes a scratch database (created and dropped here; dev and test databases are left alone),
migrates it, logs in BENCH_MEMBERS members (one socket each), then for each of two apps
(tests/bench/realtime_app.py; a fresh server process per measurement):
  - hub:   the real LiveConsumer (/ws/): one channel-layer delivery per process, fanned out
           locally from one pre-encoded frame (consumers/hub.py), coalesced presence
           (consumers/presence.py);
  - naive: the baseline (/ws-naive/): every socket joins the room's group and encodes
           each event itself, the per-socket group_send DESIGN.md measured;
it measures:
  1. idle: BENCH_IDLE_SOCKETS authenticated sockets held open; the server's RSS growth
     per socket (KiB);
  2. storm: BENCH_ROOM_SOCKETS sockets subscribe to chat room "general", 50 in flight at
     a time, while BENCH_RATE messages/s are published to the room: the time until the
     last "subscribed" reply, delivery latency of the messages published meanwhile (to
     every socket whose reply had arrived before the publish; a later one gets it in its
     replay, not live) and how many presence frames one member got;
  3. room, settled: BENCH_RATE messages/s for BENCH_SECONDS; latency p50/p99 (publish to
     the client's receive, same machine clock) and frames not delivered within 3 s of the
     last publish ("lost"). BENCH_GARBAGE of the sockets send malformed, oversized,
     unknown and too-fast frames all along (their own latencies are left out), and one
     more socket stops reading at the start: the server should drop it after its bounded
     send buffer (LIVE_SEND_BUFFER_BYTES, set to BENCH_SEND_BUFFER here so a 10 s run
     fills it) without delaying anyone else;
  4. two: the same room over two server processes sharing it through channels-redis,
     sockets alternating between them; the hub's messages are posted as chat.post through
     a socket on the first process (the real path: service, commit, channel layer), and
     latencies are reported for the members on the second; the naive app, which has no
     chat.post, gets the messages published to the group.
Clients run in this process (websockets), apart from the servers. BENCH_ASGI=uvicorn adds
the hub under uvicorn (websockets protocol) to compare memory and latency with daphne.
Targets (issue 17): storm < 5 s with p99 < 200 ms; settled p99 < 50 ms at 1,000; idle
< 50 KiB per socket; two processes within the same p99.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dj_database_url
import psutil
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parents[2]
# This checkout's code, whatever the venv's editable install points at.
sys.path.insert(0, str(ROOT))
IDLE = int(os.environ.get("BENCH_IDLE_SOCKETS", "5000"))
ROOM = int(os.environ.get("BENCH_ROOM_SOCKETS", "1000"))
RATE = float(os.environ.get("BENCH_RATE", "10"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
MEMBERS = int(os.environ.get("BENCH_MEMBERS", str(ROOM)))
GARBAGE = int(os.environ.get("BENCH_GARBAGE", "20"))
SEND_BUFFER = int(os.environ.get("BENCH_SEND_BUFFER", "32768"))
# Which apps and phases to measure (comma lists): the ratios need both apps.
APPS = [a for a in os.environ.get("BENCH_APPS", "naive,hub").split(",") if a]
PHASES = [p for p in os.environ.get("BENCH_PHASES", "idle,room,restart,two").split(",")
          if p]
ASGI = [s for s in os.environ.get("BENCH_ASGI", "daphne").split(",") if s]
CONNECT_CONCURRENCY = 50
SUBSCRIBE_CONCURRENCY = 50
ROOM_NAME = "general"


def run(coro: Any) -> Any:
    """The clients' event loop: uvloop when installed (uvicorn's dependency), which takes
    a websockets client about 24 us of CPU a frame against asyncio's 41 (500 sockets, 40
    broadcasts, measured on this machine): 1,000 members at 10 msg/s are 10,000 frames a
    second in this one process, and its delays count as delivery latency. The same loop
    for every app, so the ratios stay fair."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """One server process (daphne, or uvicorn) serving tests/bench/realtime_app.py."""

    def __init__(self, env: dict[str, str], asgi: str = "daphne", port: int | None = None
                 ) -> None:
        self.port = port or free_port()
        app = "tests.bench.realtime_app:application"
        if asgi == "daphne":
            cmd = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                   "--websocket_connect_timeout", "60", app]
        else:
            cmd = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port",
                   str(self.port), "--no-access-log", "--loop", "uvloop", "--ws",
                   "websockets", "--log-level", "warning", app]
        # The server's stderr goes to a file: a pipe nobody reads fills at 64 KiB and then
        # blocks the server in write() (seen 2026-12-02: daphne stuck in pipe_write from the
        # storm on, which the figures showed as a hub that stopped delivering).
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (open for the process life)
            prefix=f"bench-{asgi}-", suffix=".log",
            delete=False)
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                     stderr=self.log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.log_tail()) from None
                time.sleep(0.2)
        raise RuntimeError(f"{asgi} did not start")

    def log_tail(self, size: int = 2000) -> str:
        return Path(self.log.name).read_text(errors="replace")[-size:]

    def rss_kib(self) -> float:
        return psutil.Process(self.proc.pid).memory_info().rss / 1024

    def stop(self) -> None:
        if self.proc.poll() is not None and self.log.closed:
            return  # stopped already (the restart phase stops it itself)
        if os.environ.get("BENCH_SAMPLE"):  # tests/bench/realtime_app.py writes its samples
            self.proc.send_signal(signal.SIGUSR2)
            time.sleep(3)
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        logged = Path(self.log.name).stat().st_size
        if logged:
            print(f"    (server {self.port} wrote {logged} bytes to stderr, {self.log.name};"
                  f" last: {self.log_tail(300)!r})", flush=True)
        else:
            Path(self.log.name).unlink(missing_ok=True)


async def open_socket(port: int, path: str, cookie: str, *, stalled: bool = False) -> Any:
    from websockets.asyncio.client import connect

    sock = None
    if stalled:
        # A reader that stops: a small receive window, and one frame queued client-side
        # before the client stops reading from the kernel.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    ws = await connect(f"ws://127.0.0.1:{port}{path}", max_size=2**20, sock=sock,
                       max_queue=1 if stalled else 64,
                       additional_headers={"Cookie": cookie,
                                           "Origin": f"http://127.0.0.1:{port}"},
                       ping_interval=None, open_timeout=120, close_timeout=2)
    hello = json.loads(await ws.recv())
    assert hello["type"] == "hello", hello
    return ws


async def open_sockets(port: int, path: str, cookies: list[str], count: int,
                       first: int = 0) -> list[Any]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(n: int) -> Any:
        async with gate:
            return await open_socket(port, path, cookies[(first + n) % len(cookies)])

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def close_all(sockets: list[Any]) -> None:
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[int(q * (len(ordered) - 1))]


async def measure_idle(port: int, path: str, cookies: list[str], server: Server
                       ) -> dict[str, float]:
    warm = await open_sockets(port, path, cookies, 20)
    await asyncio.sleep(1)
    trace = os.environ.get("BENCH_TRACEMALLOC")
    if trace:
        os.kill(server.proc.pid, signal.SIGUSR1)
        await asyncio.sleep(1)
    before = server.rss_kib()
    started = time.perf_counter()
    sockets = await open_sockets(port, path, cookies, IDLE)
    opened = time.perf_counter() - started
    await asyncio.sleep(2)
    after = server.rss_kib()
    if trace:
        Path(trace).unlink(missing_ok=True)
        os.kill(server.proc.pid, signal.SIGUSR1)
        for _ in range(120):
            await asyncio.sleep(1)
            if Path(trace).exists():
                await asyncio.sleep(1)
                print(Path(trace).read_text(), flush=True)
                break
    await close_all(sockets + warm)
    return {"kib_per_socket": (after - before) / IDLE, "open_s": opened}


class Member:
    """One client socket of the room and what it received."""

    __slots__ = ("garbage", "got", "index", "presence", "replied", "server", "subscribed_at",
                 "ws")

    def __init__(self, ws: Any, index: int, server: int) -> None:
        self.ws, self.index, self.server = ws, index, server
        self.subscribed_at = float("inf")
        self.replied = asyncio.Event()
        self.got: dict[str, float] = {}  # message id -> latency (s)
        self.presence = 0
        self.garbage = False


GARBAGE_FRAMES: list[Any] = [
    "not json", "{", b"\x00\xff binary", json.dumps({"type": "nope"}),
    json.dumps({"type": "subscribe", "stream": "chat:" + "x" * 500}),
    json.dumps({"type": "chat.post", "stream": "chat:general", "payload": {"body": 7}}),
    "[" * 20000, "x" * (70 * 1024), json.dumps({"type": "ping", "id": {"a": 1}}),
]


async def read_member(member: Member, stamps: dict[str, float]) -> None:
    try:
        async for raw in member.ws:
            if isinstance(raw, bytes):
                continue
            now = time.time()
            if '"chat.message"' in raw:
                frame = json.loads(raw)
                payload = frame.get("payload", {})
                key = payload.get("body", "")
                sent = stamps.get(key) or payload.get("sent")
                if sent is not None and frame.get("type") == "event":
                    member.got[key] = now - sent
            elif '"chat.presence"' in raw:
                member.presence += 1
            elif raw.startswith('{"type":"subscribed"') or '"subscribed"' in raw[:40]:
                member.subscribed_at = min(member.subscribed_at, now)
                member.replied.set()
    except Exception:
        return


async def send_garbage(member: Member, stop: asyncio.Event) -> int:
    sent = 0
    while not stop.is_set():
        frame = GARBAGE_FRAMES[sent % len(GARBAGE_FRAMES)]
        try:
            await member.ws.send(frame)
        except Exception:
            return sent
        sent += 1
        await asyncio.sleep(0.2)
    return sent


class Publisher:
    """Messages to the room at RATE: through the channel layer from this process, or as
    chat.post frames on a socket (the real path through the service and the commit)."""

    def __init__(self, posters: list[Any]) -> None:
        from channels.layers import get_channel_layer

        from domain.events import chat_room_group

        self.layer = get_channel_layer()
        self.group = chat_room_group(ROOM_NAME)
        self.posters = posters
        self.author = str(uuid.uuid4())
        self.stamps: dict[str, float] = {}  # body -> when it was sent
        self.n = 0

    async def one(self, tag: str) -> str:
        from domain.community.events import event_id

        self.n += 1
        body = f"{tag}-{self.n}-{uuid.uuid4().hex[:8]}"
        now = time.time()
        self.stamps[body] = now
        if self.posters:
            poster = self.posters[self.n % len(self.posters)]
            await poster.send(json.dumps({"type": "chat.post", "stream": "chat:general",
                                          "id": self.n, "payload": {"body": body}}))
        else:
            await self.layer.group_send(self.group, {"type": "chat.message", "payload": {
                "event_id": event_id(datetime.now(UTC)),
                "id": str(uuid.uuid4()), "room": ROOM_NAME, "user_id": self.author,
                "username": "bench", "body": body, "created_at": "", "edited": False,
                "deleted": False, "sent": now}})
        return body

    async def run(self, tag: str, until: asyncio.Event | None, count: int) -> list[str]:
        bodies: list[str] = []
        start = time.monotonic()
        n = 0
        while (until is None and n < count) or (until is not None and not until.is_set()):
            await asyncio.sleep(max(0.0, start + n / RATE - time.monotonic()))
            bodies.append(await self.one(tag))
            n += 1
        return bodies


def deliveries(members: list[Member], bodies: list[str], stamps: dict[str, float],
               only_subscribed: bool) -> tuple[list[float], int]:
    """Latencies of `bodies` at `members`, and how many expected deliveries never came
    (expected: every member, or with only_subscribed every member whose subscribe reply
    came before the message was sent)."""
    latencies: list[float] = []
    lost = 0
    for body in bodies:
        sent = stamps[body]
        for m in members:
            latency = m.got.get(body)
            if latency is not None:
                latencies.append(latency)
            elif not only_subscribed or m.subscribed_at < sent:
                lost += 1
    return latencies, lost


async def subscribe_storm(members: list[Member]) -> float:
    gate = asyncio.Semaphore(SUBSCRIBE_CONCURRENCY)

    async def one(m: Member) -> None:
        async with gate:
            await m.ws.send(json.dumps({"type": "subscribe", "stream": "chat:general",
                                        "id": m.index}))
            # An event, not a poll: 50 waiters polling every 5 ms were 10,000 wake-ups a
            # second of the clients' own CPU, which the latencies share.
            await m.replied.wait()

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one(m) for m in members)), timeout=300)
    return time.perf_counter() - started


async def measure_room(ports: list[int], path: str, cookies: list[str],
                       servers: list[Server], post: bool) -> dict[str, float]:
    """The storm, then the settled room (one server), or the two-process room."""
    two = len(ports) > 1
    members: list[Member] = []
    for n, port in enumerate(ports):
        share = ROOM // len(ports) + (1 if n < ROOM % len(ports) else 0)
        opened = await open_sockets(port, path, cookies, share, first=len(members))
        members += [Member(ws, len(members) + i, n) for i, ws in enumerate(opened)]
    sockets = [m.ws for m in members]
    posters: list[Any] = []
    if post:
        # Flood control allows a member a few messages a second: several posters, each
        # well inside the socket's frame budget too.
        for n in range(max(1, -(-int(RATE) // 4))):
            ws = await open_socket(ports[0], path, cookies[-1 - n])
            await ws.send(json.dumps({"type": "subscribe", "stream": "chat:general",
                                      "id": "p"}))
            posters.append(ws)
    publisher = Publisher(posters)
    readers = [asyncio.create_task(read_member(m, publisher.stamps)) for m in members]
    readers += [asyncio.create_task(drain_socket(ws)) for ws in posters]
    stalled = None
    if not two:
        stalled = await open_socket(ports[0], path, cookies[0], stalled=True)
        await stalled.send(json.dumps({"type": "subscribe", "stream": "chat:general",
                                       "id": "s"}))

    # The storm: everyone subscribes while messages keep coming.
    # (Posted messages are rows a later subscriber gets in its history: no storm messages
    # when posting, so every delivery counted is a live one.)
    storm_done = asyncio.Event()
    if post:
        storm_done.set()
    storm_pub = asyncio.create_task(publisher.run("storm", storm_done, 0))
    storm_s = await subscribe_storm(members)
    storm_done.set()
    storm_bodies = await storm_pub
    await asyncio.sleep(2)
    storm_lat, storm_lost = deliveries(members, storm_bodies, publisher.stamps, True)
    presence_frames = members[0].presence

    # Settled: garbage senders, one stalled reader, everyone else measured.
    garbage = members[1:1 + GARBAGE] if not two else []
    for m in garbage:
        m.garbage = True
    stop = asyncio.Event()
    garbage_tasks = [asyncio.create_task(send_garbage(m, stop)) for m in garbage]
    cpu_before = [cpu_seconds(s.proc.pid) for s in servers]
    client_before = cpu_seconds(os.getpid())
    profiler = None
    if os.environ.get("BENCH_PYSPY") and not two:
        spy = shutil.which("py-spy") or str(ROOT / ".venv/bin/py-spy")
        profiler = subprocess.Popen(
            [spy, "record", "-p", str(servers[0].proc.pid), "-d", str(int(SECONDS)), "-r",
             "250", "--format", "raw", "-o", os.environ["BENCH_PYSPY"]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    bodies = await publisher.run("room", None, int(RATE * SECONDS))
    await asyncio.sleep(3)
    window = time.monotonic() - started
    if profiler is not None:
        profiler.wait()
    stop.set()
    garbage_sent = sum(await asyncio.gather(*garbage_tasks))
    server_cpu = sum(cpu_seconds(s.proc.pid) - b for s, b in zip(servers, cpu_before,
                                                                  strict=True)) / window
    client_cpu = (cpu_seconds(os.getpid()) - client_before) / window
    measured = [m for m in members if not m.garbage]
    result: dict[str, float] = {
        "storm_s": storm_s, "storm_p50_ms": pct(storm_lat, 0.5),
        "storm_p99_ms": pct(storm_lat, 0.99), "storm_lost": storm_lost,
        "storm_msgs": len(storm_bodies), "presence_frames": presence_frames,
        "server_cpu": server_cpu, "client_cpu": client_cpu,
        "garbage_sent": garbage_sent,
        "garbage_open": sum(1 for m in garbage if m.ws.close_code is None),
    }
    if two:
        for n in range(len(ports)):
            lat, lost = deliveries([m for m in measured if m.server == n], bodies,
                                   publisher.stamps, False)
            result[f"s{n}_p50_ms"], result[f"s{n}_p99_ms"] = pct(lat, 0.5), pct(lat, 0.99)
            result[f"s{n}_lost"] = lost
    lat, lost = deliveries(measured, bodies, publisher.stamps, False)
    result.update({"p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99), "lost": lost})
    if stalled is not None:
        result["stalled_code"] = await stalled_outcome(stalled)
    for task in readers:
        task.cancel()
    await close_all(sockets + posters)
    return result


async def drain_socket(ws: Any) -> None:
    try:
        async for _ in ws:
            pass
    except Exception:
        return


async def stalled_outcome(ws: Any) -> float:
    """Read what the stalled socket has queued; its close code (-1: still open)."""
    async def read_all() -> None:
        try:
            async for _ in ws:
                pass
        except Exception:
            return

    try:
        await asyncio.wait_for(read_all(), timeout=5)
    except TimeoutError:
        await ws.close()
        return -1
    code = ws.close_code
    return float(code) if code is not None else 1006.0


class Tab:
    """A bench client that behaves like live.js across a restart: it keeps the last event
    id and the keys it holds, and reconnects with the same jittered backoff."""

    __slots__ = ("drops", "held", "last_id", "repeats", "resubscribed", "ws")

    def __init__(self) -> None:
        self.ws: Any = None
        self.last_id = ""
        self.held: set[str] = set()
        self.repeats = 0  # events the server sent again (live.js drops them by key)
        self.resubscribed = asyncio.Event()
        self.drops = 0

    def take(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == "subscribed":
            if not self.last_id:
                self.last_id = frame.get("event_id") or ""
            self.resubscribed.set()
        if frame.get("event") != "chat.message":
            return
        key = f"{frame.get('event_id')}:{frame['payload'].get('id')}"
        if key in self.held:
            self.repeats += 1
            return
        self.held.add(key)
        self.last_id = max(self.last_id, str(frame.get("event_id") or ""))

    async def run(self, port: int, cookie: str, stop: asyncio.Event) -> None:
        import random

        attempt = 0
        while not stop.is_set():
            try:
                self.ws = await open_socket(port, "/ws/", cookie)
                attempt = 0
                frame: dict[str, Any] = {"type": "subscribe", "stream": "chat:general",
                                         "id": 1}
                if self.last_id:
                    frame["payload"] = {"since": self.last_id,
                                        "have": sorted(self.held, reverse=True)[:500]}
                await self.ws.send(json.dumps(frame))
                async for raw in self.ws:
                    self.take(json.loads(raw))
            except Exception:  # the server went away: reconnect, as the page does
                self.drops += 1
            self.resubscribed.clear()
            # live.js backoffDelay: "equal jitter", 1 s doubling to 30 s.
            delay = min(30.0, 2.0 ** attempt)
            attempt += 1
            await asyncio.sleep(delay / 2 + random.random() * delay / 2)


async def measure_restart(server: Server, cookies: list[str], env: dict[str, str]
                          ) -> dict[str, float]:
    """ROOM tabs in #general; the server stops, messages are posted meanwhile, it starts
    again on the same port; every tab reconnects and catches up. Messages go through the
    chat service (rows, then the channel layer on commit), also during the reconnect."""
    from asgiref.sync import sync_to_async

    from consumers.live import event_key
    from domain.community.events import chat_message_payload
    from domain.community.models import ChatMessage
    from domain.community.services import chat_message_post
    from tests.factories import make_user

    poster = await sync_to_async(make_user)("member", password=None)  # type: ignore[arg-type]
    post = sync_to_async(lambda body: chat_message_post(user=poster, room_name=ROOM_NAME,
                                                        body=body))
    stop = asyncio.Event()
    tabs = [Tab() for _ in range(ROOM)]
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def first(tab: Tab, n: int) -> None:
        async with gate:
            tasks.append(asyncio.create_task(tab.run(server.port, cookies[n % len(cookies)],
                                                     stop)))
            await asyncio.wait_for(tab.resubscribed.wait(), 300)

    tasks: list[asyncio.Task[None]] = []
    await asyncio.gather(*(first(t, n) for n, t in enumerate(tabs)))
    for n in range(5):
        await post(f"before {n}")
    await asyncio.sleep(2)

    server.stop()
    for n in range(20):
        await post(f"while down {n}")
    restarted = Server(env, port=server.port)
    started = time.perf_counter()
    during = 0
    while not all(t.resubscribed.is_set() for t in tabs):
        if time.perf_counter() - started > 300:
            break
        await post(f"during the reconnect {during}")
        during += 1
        await asyncio.sleep(1 / RATE)
    back_s = time.perf_counter() - started
    back = sum(t.resubscribed.is_set() for t in tabs)  # counted before the tabs close
    await asyncio.sleep(3)
    rows = await sync_to_async(lambda: {
        event_key(chat_message_payload(m, username=poster.username))
        for m in ChatMessage.objects.filter(user=poster).select_related("room")})()
    lost = sum(len(rows - t.held) for t in tabs)
    repeats = sum(t.repeats for t in tabs)
    stop.set()
    for t in tabs:
        if t.ws is not None:
            await t.ws.close()
    for task in tasks:
        task.cancel()
    restarted.stop()
    return {"restart_back_s": back_s, "restart_lost": lost, "restart_repeats": repeats,
            "restart_msgs": len(rows), "restart_back": back}


def login_cookies(count: int) -> list[str]:
    from django.conf import settings
    from django.db import connections
    from django.test import Client

    from tests.factories import make_user

    # No password: hashing a thousand of them would take longer than the benchmark.
    users = [make_user("member", password=None) for _ in range(count)]  # type: ignore[arg-type]

    def one(user: Any) -> str:
        try:
            client = Client()
            client.force_login(user)
            return (f"{settings.SESSION_COOKIE_NAME}="
                    f"{client.cookies[settings.SESSION_COOKIE_NAME].value}")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, users))


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
    env["LIVE_SEND_BUFFER_BYTES"] = str(SEND_BUFFER)
    env["BENCH_TRACEMALLOC_SOCKETS"] = str(IDLE)
    # The garbage senders and the poster are members too: their frame budget and the
    # poster's flood control stay as configured unless the caller set them.
    env.setdefault("COMMUNITY_CHAT_BURST", str(int(RATE * 10) + 10))
    os.environ.update(env)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        print(f"bench-realtime: idle {IDLE} sockets; room {ROOM} sockets ({GARBAGE} "
              f"sending garbage, 1 stalled), {RATE:g} msg/s for {SECONDS:g} s; {MEMBERS} "
              f"members; send buffer {SEND_BUFFER} B; load {os.getloadavg()[0]:.1f}",
              flush=True)
        call_command("migrate", verbosity=0, interactive=False)
        # The clients share this process: its own collector pauses would count as delivery
        # latency, so it gets the server's settings (server/gctuning.py).
        from server.gctuning import tune_for_server

        tune_for_server()
        cookies = login_cookies(MEMBERS)
        results: dict[str, dict[str, float]] = {}
        runs = [("naive", "/ws-naive/", "daphne"), ("hub", "/ws/", "daphne")]
        runs += [("hub", "/ws/", a) for a in ASGI if a != "daphne"]
        for label, path, asgi in runs:
            if label not in APPS:
                continue
            key = label if asgi == "daphne" else f"{label}/{asgi}"
            r: dict[str, float] = {}
            if "idle" in PHASES:
                server = Server(env, asgi)
                try:
                    r.update(run(measure_idle(server.port, path, cookies, server)))
                finally:
                    server.stop()
                print(f"  {key:5}: idle {r['kib_per_socket']:.1f} KiB/socket "
                      f"(opened in {r['open_s']:.1f} s)", flush=True)
            if "room" in PHASES:
                server = Server(env, asgi)
                try:
                    room = run(measure_room([server.port], path, cookies, [server],
                                                    post=False))
                finally:
                    server.stop()
                r.update(room)
                print(f"  {key:5}: storm {ROOM} subscribes {r['storm_s']:.1f} s, messages "
                      f"meanwhile p50 {r['storm_p50_ms']:.0f} ms p99 {r['storm_p99_ms']:.0f} "
                      f"ms, lost {int(r['storm_lost'])} of {int(r['storm_msgs'])} x "
                      f"subscribed; presence frames one member got: "
                      f"{int(r['presence_frames'])}", flush=True)
                print(f"  {key:5}: room p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
                      f"lost {int(r['lost'])}; CPU server {r['server_cpu']:.0%}, clients "
                      f"{r['client_cpu']:.0%}; garbage: {int(r['garbage_sent'])} frames, "
                      f"{int(r['garbage_open'])}/{GARBAGE} senders still open; stalled "
                      f"socket's close code {int(r['stalled_code'])}", flush=True)
            if "restart" in PHASES and label == "hub" and asgi == "daphne":
                server = Server(env, asgi)
                try:
                    r.update(run(measure_restart(server, cookies, env)))
                finally:
                    server.stop()
                print(f"  {key:5}: restart with {ROOM} tabs: {int(r['restart_back'])} back "
                      f"and resubscribed {r['restart_back_s']:.1f} s after the start; of "
                      f"{int(r['restart_msgs'])} messages, {int(r['restart_lost'])} missing "
                      f"across all tabs, {int(r['restart_repeats'])} sent twice (dropped "
                      "by the key check)", flush=True)
            if "two" in PHASES and asgi == "daphne":
                pair = [Server(env, asgi), Server(env, asgi)]
                try:
                    two = run(measure_room([s.port for s in pair], path, cookies,
                                                   pair, post=label == "hub"))
                finally:
                    for s in pair:
                        s.stop()
                r.update({f"two_{k}": v for k, v in two.items()})
                how = "posted on #1" if label == "hub" else "group_send"
                print(f"  {key:5}: two processes ({how}): storm {two['storm_s']:.1f} s; "
                      f"on #1 p50 {two['s0_p50_ms']:.1f} p99 {two['s0_p99_ms']:.1f} ms, "
                      f"on #2 p50 {two['s1_p50_ms']:.1f} p99 {two['s1_p99_ms']:.1f} ms, "
                      f"lost {int(two['lost'])}; CPU servers {two['server_cpu']:.0%}",
                      flush=True)
            results[key] = r
        if "naive" not in results or "hub" not in results:
            return 0
        naive, hub = results["naive"], results["hub"]
        print("ratios (naive / hub; above 1 means the hub is better):")
        for label, field in (("memory per idle socket", "kib_per_socket"),
                             ("storm time", "storm_s"),
                             ("storm delivery p99", "storm_p99_ms"),
                             ("room delivery p50", "p50_ms"),
                             ("room delivery p99", "p99_ms"),
                             ("two processes p99, #2", "two_s1_p99_ms")):
            if field in naive and field in hub and hub[field]:
                print(f"  {label + ':':24}{naive[field] / hub[field]:.2f}")
        checks = []
        if "storm_s" in hub:
            checks += [f"storm < 5 s {'met' if hub['storm_s'] < 5 else 'MISSED'}",
                       f"storm p99 < 200 ms {'met' if hub['storm_p99_ms'] < 200 else 'MISSED'}",
                       f"room p99 < 50 ms {'met' if hub['p99_ms'] < 50 else 'MISSED'}"]
        if "kib_per_socket" in hub:
            checks.append(f"idle < 50 KiB {'met' if hub['kib_per_socket'] < 50 else 'MISSED'}")
        if "two_s1_p99_ms" in hub:
            checks.append("two processes p99 < 50 ms "
                          f"{'met' if hub['two_s1_p99_ms'] < 50 else 'MISSED'}")
        print(f"targets (hub): {'; '.join(checks)}")
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
