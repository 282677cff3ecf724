"""Announce benchmark (`make bench-announce`): cold start, warm throughput against Debian's
opentracker and trivial servers, and two tracker processes, all in one run.

Data: 50k members and 200k torrents (1% hybrid v1+v2, 10% freeleech) made through the
project's models with bulk_create into a scratch database (`tracker_bench` beside the
site's, BENCH_DATABASE_URL to name another), kept between runs. Redis: a redis-server of
the bench's own on a free port, emptied before the cold phase, so every record is only in
PostgreSQL, as after a deploy, a Redis restart or an eviction.

Requests: 100k peers of those members on random torrents, each with a client of its own
shape (qBittorrent, Transmission, Deluge, rTorrent, aria2, ctorrent: their parameter order,
peer_id, key, numwant, user agent), announcing in order (started, regular announces with
growing counters, completed, stopped) interleaved across peers, with 8% scrapes of one or
three hashes; each request on a new connection (`Connection: close`) from wrk (64
connections), the same sequence for every server. A reply counts as an error if it is not
HTTP 200 or carries a `failure reason`.

The tracker runs on its own server (announce/server.py, the Procfile's `tracker`);
`--front uvicorn` runs the ASGI app under uvicorn instead.

Phases (printed):
1. cold: the tracker started against the empty Redis, load from the moment it listens;
   ok/s per second, and the second (from the process's start) at which it first reaches
   half its warm throughput (goal: within 10 s);
2. warm: the same process, the same sequence (goal: >= 0.5x opentracker, 0 errors);
3. baselines under the same load: a fixed reply from the tracker's own server
   (`--trivial`: what that front alone can do), the tracker app under uvicorn, the
   trivial ASGI app under uvicorn (same options) and Debian's opentracker with a
   whitelist of every torrent's hashes;
4. two tracker processes (two ports, one Redis): their throughput together, and the
   accounting proof: peers announcing alternately to both processes and, separately, to
   one; after a flush, the bytes credited in user_statistics equal the bytes the peers
   reported, for one process and for two (no double counting across processes);
5. two processes on one port (`--workers 2`, SO_REUSEPORT), one wrk on the sequence.
Not a test: numbers depend on the machine; the ratios are what compares runs.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")

BENCH_PREFIX = "bench"  # TRACKER_REDIS_PREFIX inside the bench's own Redis

WRK_LUA = r"""
local lines = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  local ua, path = line:match("^([^\t]*)\t(.*)$")
  lines[#lines + 1] = {ua, path}
end
local threads = {}
local counter = 0
setup = function(thread)
  thread:set("offset", counter * 7919)
  counter = counter + 1
  threads[#threads + 1] = thread
end
local i = 0
bucket, ok, bad, total_ok, total_bad = 0, 0, 0, 0, 0
sent, announces, scrapes, close_hdr = 0, 0, 0, 0
first_failure = ""
-- BENCH_OFFSET: where in the sequence this wrk starts (two processes, two parts of it)
local base = tonumber(os.getenv("BENCH_OFFSET") or "0")
init = function(args) i = (base + (offset or 0)) % #lines end
request = function()
  sent = sent + 1
  i = i % #lines + 1
  local l = lines[i]
  return wrk.format("GET", l[2], {["Connection"] = "close", ["User-Agent"] = l[1]})
end
response = function(status, headers, body)
  local t = os.time()
  if t ~= bucket then
    if bucket ~= 0 then io.write(string.format("TICK %d %d %d\n", bucket, ok, bad)) end
    bucket, ok, bad = t, 0, 0
  end
  if headers["Connection"] or headers["connection"] then close_hdr = close_hdr + 1 end
  if status == 200 and not string.find(body, "failure reason", 1, true) then
    ok = ok + 1
    total_ok = total_ok + 1
    -- what kind of valid reply: an announce (interval and peers) or a scrape (files)
    if string.find(body, "8:intervali", 1, true) and string.find(body, "5:peers", 1, true) then
      announces = announces + 1
    elseif string.find(body, "5:filesd", 1, true) then
      scrapes = scrapes + 1
    end
  else
    bad = bad + 1
    total_bad = total_bad + 1
    -- the first failure's reply, so a run with errors says what they were
    if first_failure == "" then first_failure = status .. " " .. string.sub(body, 1, 160) end
  end
end
done = function(summary, latency, requests)
  local good, failed, nsent, nann, nscr, nclose = 0, 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    good = good + t:get("total_ok")
    failed = failed + t:get("total_bad")
    nsent = nsent + t:get("sent")
    nann = nann + t:get("announces")
    nscr = nscr + t:get("scrapes")
    nclose = nclose + t:get("close_hdr")
    io.write(string.format("TICK %d %d %d\n", t:get("bucket"), t:get("ok"), t:get("bad")))
    if t:get("first_failure") ~= "" then
      io.write("FAILURE " .. string.gsub(t:get("first_failure"), "\n", " ") .. "\n")
    end
  end
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"socket_errors": %d, "non2xx": %d, "ok": %d, "failed": %d, "connect": %d, ' ..
    '"read": %d, "write": %d, "timeout": %d, "sent": %d, "announces": %d, ' ..
    '"scrapes": %d, "close_header": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status, good, failed, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout, nsent, nann, nscr,
    nclose))
end
"""

# Clients' announce shapes: parameter order and the values each sends (their own source
# and captures); "{...}" are filled per request.
SHAPES: list[dict[str, Any]] = [
    {"name": "qBittorrent", "ua": "qBittorrent/4.6.5", "pid": b"-qB4650-", "key": "hex8",
     "q": "info_hash={ih}&peer_id={pid}&port={port}&uploaded={up}&downloaded={down}"
          "&left={left}&corrupt=0&key={key}{event}&numwant=200&compact=1&no_peer_id=1"
          "&supportcrypto=1&redundant=0"},
    {"name": "Transmission", "ua": "Transmission/4.0.5", "pid": b"-TR4050-", "key": "hex8",
     "q": "info_hash={ih}&peer_id={pid}&port={port}&uploaded={up}&downloaded={down}"
          "&left={left}&numwant=80&key={key}&compact=1&supportcrypto=1{event}"},
    {"name": "Deluge", "ua": "Deluge/2.1.1 libtorrent/2.0.9.0", "pid": b"-DE211s-",
     "key": "hex8",
     "q": "info_hash={ih}&peer_id={pid}&port={port}&uploaded={up}&downloaded={down}"
          "&left={left}&corrupt=0&key={key}{event}&numwant=200&compact=1&no_peer_id=1"
          "&supportcrypto=1&redundant=0"},
    {"name": "rTorrent", "ua": "rtorrent/0.9.8/0.13.8", "pid": b"-lt0D80-", "key": "hex8",
     "q": "info_hash={ih}&peer_id={pid}&key={key}&compact=1&port={port}&uploaded={up}"
          "&downloaded={down}&left={left}{event}"},
    {"name": "aria2", "ua": "aria2/1.36.0", "pid": b"A2-1-36-0-", "key": "alnum",
     "q": "info_hash={ih}&peer_id={pid}&uploaded={up}&downloaded={down}&left={left}"
          "&compact=1&key={key}&numwant=50&no_peer_id=1&port={port}&supportcrypto=1{event}"},
    {"name": "ctorrent", "ua": "Enhanced-CTorrent/dnh3.3.2", "pid": b"-CD0303-",
     "key": "none",
     "q": "info_hash={ih}&peer_id={pid}&port={port}&uploaded={up}&downloaded={down}"
          "&left={left}{event}&compact=1"},
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited ({proc.returncode}) before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{what} did not listen on port {port}")


# --- Servers of the bench's own --------------------------------------------------------------

def scratch_database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tracker")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path="/tracker_bench"))


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        from psycopg import sql

        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def start_redis() -> tuple[subprocess.Popen[bytes], int, str]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is needed (apt-get install redis-server)")
    port, workdir = free_port(), tempfile.mkdtemp(prefix="bench-redis-")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir, "--logfile", os.path.join(workdir, "redis.log")])
    wait_port(port, proc, "redis-server")
    return proc, port, workdir


# --- Data --------------------------------------------------------------------------------------

def build_data(members: int, torrents: int) -> tuple[list[str], list[tuple[bytes, ...]]]:
    """Members and torrents in the scratch database (only what is missing is made);
    returns the passkeys and, per torrent, the hashes a client announces it under."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection

    from domain.accounts.models import User, UserGroup, UserStatistics, UserStatus
    from domain.catalog.models import Torrent, TorrentCategory

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    have = User.objects.filter(username__startswith="bench_").count()
    if have < members:
        group = UserGroup.objects.get(name="member")
        password = make_password("bench-password-123")
        for start in range(have, members, 5000):
            users = User.objects.bulk_create([
                User(username=f"bench_{n:06d}", email=f"bench_{n:06d}@bench.test",
                     group=group, status=UserStatus.ACTIVE, password=password)
                for n in range(start, min(members, start + 5000))])
            UserStatistics.objects.bulk_create([UserStatistics(user=u) for u in users])
    have = Torrent.objects.filter(name__startswith="Bench.").count()
    if have < torrents:
        category = TorrentCategory.objects.order_by("pk").first()
        for start in range(have, torrents, 5000):
            rows = []
            for n in range(start, min(torrents, start + 5000)):
                info = f"bench-torrent-{n}".encode()
                hybrid = n % 100 == 7
                rows.append(Torrent(
                    name=f"Bench.{n:06d}", info_hash_v1=hashlib.sha1(info).digest(),  # noqa: S324
                    info_hash_v2=hashlib.sha256(info).digest() if hybrid else None,
                    version="hybrid" if hybrid else "v1", category=category,
                    status="approved", size=(1 + n % 50) << 26, file_count=1,
                    piece_length=1 << 20, info_dict=info, is_freeleech=n % 10 == 3))
            Torrent.objects.bulk_create(rows)
    with connection.cursor() as cur:
        cur.execute("ANALYZE users; ANALYZE torrents; ANALYZE user_statistics")
    passkeys = list(User.objects.filter(username__startswith="bench_").order_by("username")
                    .values_list("passkey", flat=True)[:members])
    hashes: list[tuple[bytes, ...]] = []
    for v1, v2 in (Torrent.objects.filter(name__startswith="Bench.").order_by("name")
                   .values_list("info_hash_v1", "info_hash_v2")[:torrents]):
        assert v1 is not None  # every bench torrent has a v1 hash (some a v2 as well)
        hashes.append((bytes(v1), bytes(v2)[:20]) if v2 else (bytes(v1),))
    print(f"data: {len(passkeys)} members, {len(hashes)} torrents in the scratch database "
          f"({time.perf_counter() - started:.1f} s, made only where missing)", flush=True)
    return passkeys, hashes


# --- Request sequences ---------------------------------------------------------------------

@dataclass
class Peer:
    passkey: str
    info_hash: bytes
    shape: dict[str, Any]
    peer_id: bytes
    key: str
    port: int
    size: int
    left: int
    up: int = 0
    down: int = 0
    started: bool = False
    sent: list[tuple[int, int]] = field(default_factory=list)  # (up, down) of each announce


def _key(rng: random.Random, kind: str) -> str:
    if kind == "hex8":
        return rng.randbytes(4).hex().upper()
    if kind == "alnum":
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))
    return ""


def make_peers(rng: random.Random, passkeys: list[str], hashes: list[tuple[bytes, ...]],
               count: int) -> list[Peer]:
    peers = []
    for n in range(count):
        shape = SHAPES[n % len(SHAPES)]
        hs = hashes[rng.randrange(len(hashes))]
        size = 1 << 30
        pid = shape["pid"] + rng.randbytes(20 - len(shape["pid"]))
        peers.append(Peer(passkey=passkeys[n % len(passkeys)], info_hash=rng.choice(hs),
                          shape=shape, peer_id=pid, key=_key(rng, shape["key"]),
                          port=1024 + n % 60000, size=size,
                          left=0 if rng.random() < 0.4 else size))
    return peers


def announce_path(peer: Peer, event: str) -> str:
    shape = peer.shape
    q = shape["q"].format(
        ih=quote_from_bytes(peer.info_hash, safe=""), pid=quote_from_bytes(peer.peer_id, safe=""),
        port=peer.port, up=peer.up, down=peer.down, left=peer.left,
        key=peer.key, event=f"&event={event}" if event else "")
    if shape["key"] == "none":
        q = q.replace("&key=", "")
    return f"/announce/{peer.passkey}?{q}"


def next_announce(rng: random.Random, peer: Peer) -> str:
    """The peer's next announce as its client would send it, counters moved on."""
    if not peer.started:
        peer.started = True
        return announce_path(peer, "started")
    peer.up += rng.randrange(1 << 22)
    if peer.left:
        step = min(peer.left, 1 << 22)
        peer.down += step
        peer.left -= step
        if not peer.left:
            return announce_path(peer, "completed")
    if rng.random() < 0.02:
        path = announce_path(peer, "stopped")
        peer.started = False
        return path
    return announce_path(peer, "")


def make_sequence(rng: random.Random, peers: list[Peer], hashes: list[tuple[bytes, ...]],
                  requests: int) -> list[str]:
    """Lines of "user agent<TAB>path": peers drawn at random, each announcing in order."""
    lines = []
    for _ in range(requests):
        peer = peers[rng.randrange(len(peers))]
        if rng.random() < 0.08:
            picks = [rng.choice(hashes[rng.randrange(len(hashes))])
                     for _ in range(rng.choice([1, 1, 3]))]
            q = "&".join(f"info_hash={quote_from_bytes(h, safe='')}" for h in picks)
            lines.append(f"{peer.shape['ua']}\t/scrape/{peer.passkey}?{q}")
        else:
            lines.append(f"{peer.shape['ua']}\t{next_announce(rng, peer)}")
    return lines


def prefill(prefix: str, *, torrents: int, members: int, peers_per_member: int,
            requests: int, seed: int) -> list[str]:
    """Synthetic records straight into the configured Redis and request paths over them,
    with no database (tests/bench/announce_profile.py measures the app in-process)."""
    import django

    django.setup()
    from django.conf import settings

    from domain.tracker import store
    from domain.tracker.records import MemberRecord, TorrentRecord, encode

    settings.TRACKER_REDIS_PREFIX = prefix
    rng = random.Random(seed)
    r = store.client()
    pipe = r.pipeline(transaction=False)
    hashes = [rng.randbytes(20) for _ in range(torrents)]
    for n, h in enumerate(hashes):
        pipe.set(store.info_hash_key(h), encode(TorrentRecord(
            id=f"00000000-0000-0000-0000-{n + 1:012d}", size=1 << 30, info_hashes=(h.hex(),),
            freeleech_until=float("inf") if n % 10 == 0 else 0.0)), ex=3600)
    passkeys = [f"{n:032x}" for n in range(members)]
    for n, pk in enumerate(passkeys):
        pipe.set(store.passkey_key(pk), encode(MemberRecord(
            id=f"00000000-0000-0000-0001-{n:012d}", max_peers=5)), ex=3600)
    pipe.set(store.ip_ban_key("127.0.0.1"), "", ex=3600)
    pipe.set(store.client_rules_key(), json.dumps({"allow": [], "deny": []}), ex=3600)
    pipe.execute()
    peers = [Peer(passkey=pk, info_hash=hashes[rng.randrange(torrents)], shape=SHAPES[0],
                  peer_id=b"-qB4650-" + rng.randbytes(12), key="bench", port=1024 + m,
                  size=1 << 30, left=rng.choice([0, 0, 1 << 30]))
             for m, pk in enumerate(passkeys) for _ in range(peers_per_member)]
    return [line.split("\t", 1)[1] for line in make_sequence(rng, peers, [(h,) for h in hashes],
                                                              requests)]


# --- Load ------------------------------------------------------------------------------------

def run_wrk(port: int, paths_file: str, seconds: float, connections: int,
            offset: int = 0) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA)
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "5s",
             "-s", f.name, f"http://127.0.0.1:{port}"], capture_output=True, text=True,
            env={**os.environ, "BENCH_PATHS": paths_file, "BENCH_OFFSET": str(offset)},
            timeout=seconds + 60)
    finally:
        os.unlink(f.name)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no result:\n{out.stdout[-2000:]}\n{out.stderr}")
    data: dict[str, Any] = json.loads(line[6:])
    data["rps"] = data["ok"] / (data["duration_us"] / 1e6)
    data["errors"] = data["failed"] + data["socket_errors"]
    ticks: dict[int, list[int]] = {}
    for x in out.stdout.splitlines():
        if x.startswith("TICK "):
            _, sec, ok, bad = x.split()
            if int(sec):
                ticks.setdefault(int(sec), [0, 0])
                ticks[int(sec)][0] += int(ok)
                ticks[int(sec)][1] += int(bad)
    data["ticks"] = sorted(ticks.items())
    data["first_failure"] = next((x[8:] for x in out.stdout.splitlines()
                                  if x.startswith("FAILURE ")), "")
    return data


def tracker_env(redis_port: int, database_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "TRACKER_REDIS_PREFIX": BENCH_PREFIX, "TRACKER_MIN_INTERVAL": "0",
            "DJANGO_SETTINGS_MODULE": "server.settings", **extra}


def start_uvicorn(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(ROOT / ".venv/bin/uvicorn"), app, "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning", "--loop", "uvloop", "--http",
         "httptools", "--backlog", "4096"], cwd=ROOT, env=env)


def start_server(port: int, env: dict[str, str], *, workers: int = 1,
                 trivial: bool = False) -> subprocess.Popen[bytes]:
    """The tracker's own server (announce/server.py, the Procfile's `tracker`)."""
    return subprocess.Popen(
        [str(ROOT / ".venv/bin/python"), "-m", "announce.server", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--backlog", "4096",
         *(["--trivial"] if trivial else [])], cwd=ROOT, env=env)


def start_tracker(front: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    if front == "uvicorn":
        return start_uvicorn("announce.asgi:application", port, env)
    return start_server(port, env)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure_warm(port: int, paths_file: str, seconds: float, connections: int
                 ) -> dict[str, Any]:
    run_wrk(port, paths_file, 3, connections)  # warm-up: the process fills its copies
    return run_wrk(port, paths_file, seconds, connections)


def start_opentracker(hashes: list[tuple[bytes, ...]]) -> tuple[subprocess.Popen[bytes], int,
                                                                str]:
    exe = shutil.which("opentracker")
    if exe is None:
        raise FileNotFoundError("opentracker")
    port, root = free_port(), tempfile.mkdtemp(prefix="bench-opentracker-")
    # It drops root for an unprivileged user after the chroot, who must still read these.
    os.chmod(root, 0o755)  # noqa: S103 (a whitelist of public hashes)
    # Debian builds it with a whitelist only (WANT_ACCESSLIST_WHITE): every hash a client
    # may announce, hex, one a line. It chroots into its rootdir, hence the path.
    with open(os.path.join(root, "whitelist.txt"), "w") as f:
        f.write("".join(h.hex() + "\n" for hs in hashes for h in hs))
    with open(os.path.join(root, "opentracker.conf"), "w") as f:
        f.write(f"listen.tcp 127.0.0.1:{port}\nlisten.udp.workers 0\n"
                f"access.whitelist /whitelist.txt\ntracker.rootdir {root}\n")
    os.chmod(os.path.join(root, "whitelist.txt"), 0o644)
    # Its own complaints (accept failures, refused whitelist lines) are kept: the socket
    # errors wrk saw against it in earlier runs were never explained.
    log = open(os.path.join(root, "opentracker.log"), "wb")  # noqa: SIM115 (the process's)
    proc = subprocess.Popen([exe, "-f", os.path.join(root, "opentracker.conf")],
                            stdout=log, stderr=subprocess.STDOUT)
    log.close()
    wait_port(port, proc, "opentracker")
    time.sleep(1.0)  # the whitelist is read by a thread of its own after start
    return proc, port, root


def verify_sample(port: int, lines: list[str], n: int = 300) -> dict[str, Any]:
    """n requests spread over the sequence, one connection each, replies decoded in full:
    how many are valid announces (an interval and a compact peer list), valid scrapes,
    failures; and how the server answers (status line, Content-Length, Connection: close,
    whether it closes the connection by itself)."""
    import bencodepy

    counts = {"announce": 0, "scrape": 0, "failure": 0, "other": 0, "peers": 0,
              "content_length": 0, "close_header": 0, "closed_by_server": 0}
    reasons: dict[str, int] = {}
    status_lines: dict[str, int] = {}

    async def one(line: str) -> None:
        ua, path = line.split("\t", 1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {ua}\r\n"
                     "Connection: close\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        lines_ = head.decode("latin-1").split("\r\n")
        status_lines[lines_[0]] = status_lines.get(lines_[0], 0) + 1
        hdrs = {k.strip().lower(): v.strip() for k, _, v in
                (x.partition(":") for x in lines_[1:] if x)}
        if "content-length" in hdrs:
            counts["content_length"] += 1
            body = await reader.readexactly(int(hdrs["content-length"]))
        else:
            body = await reader.read()
        if hdrs.get("connection", "").lower() == "close":
            counts["close_header"] += 1
        try:
            if await asyncio.wait_for(reader.read(1), 2) == b"":
                counts["closed_by_server"] += 1
        except TimeoutError:
            pass
        writer.close()
        try:
            reply = bencodepy.decode(body)
        except Exception:  # anything undecodable is "other"
            counts["other"] += 1
            return
        if b"failure reason" in reply:
            counts["failure"] += 1
            why = reply[b"failure reason"].decode(errors="replace")
            reasons[why] = reasons.get(why, 0) + 1
        elif (isinstance(reply.get(b"interval"), int) and isinstance(reply.get(b"peers"), bytes)
              and len(reply[b"peers"]) % 6 == 0):
            counts["announce"] += 1
            counts["peers"] += len(reply[b"peers"]) // 6
        elif isinstance(reply.get(b"files"), dict):
            counts["scrape"] += 1
        else:
            counts["other"] += 1

    async def run() -> None:
        sem = asyncio.Semaphore(16)

        async def guarded(line: str) -> None:
            async with sem:
                await one(line)

        step = max(1, len(lines) // n)
        await asyncio.gather(*(guarded(x) for x in lines[::step][:n]))

    asyncio.run(run())
    return {**counts, "sampled": sum(counts[k] for k in ("announce", "scrape", "failure",
                                                          "other")),
            "reasons": reasons, "status_lines": status_lines}


# --- Accounting across processes ----------------------------------------------------------------

async def _get(port: int, path: str, ua: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {ua}\r\n"
                 "Connection: close\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    return data


async def send_peer_sequences(ports: list[int], peers: list[Peer], rng: random.Random,
                              steps: int, concurrency: int = 64) -> int:
    """Each peer: started, `steps` announces, stopped, strictly in order (the next after
    the reply), alternating over `ports`; peers run concurrently. Returns failed replies."""
    failures = 0
    sem = asyncio.Semaphore(concurrency)
    turn = iter(range(10**9))

    async def one(peer: Peer) -> None:
        nonlocal failures
        for step in range(steps + 2):
            if step == 0:
                path = announce_path(peer, "started")
            else:
                peer.up += 16_384 * (1 + rng.randrange(64))
                if peer.left:
                    d = min(peer.left, 16_384 * (1 + rng.randrange(64)))
                    peer.down += d
                    peer.left -= d
                path = announce_path(peer, "stopped" if step == steps + 1 else "")
            async with sem:
                reply = await _get(ports[next(turn) % len(ports)], path, peer.shape["ua"])
            if not reply.startswith(b"HTTP/1.1 200") or b"failure reason" in reply:
                failures += 1
            else:
                peer.sent.append((peer.up, peer.down))

    await asyncio.gather(*(one(p) for p in peers))
    return failures


def drain_and_sum(user_ids: list[str]) -> tuple[int, int]:
    from django.db import connection

    from domain.tracker.flush import tracker_flush

    while tracker_flush(max_batches=100):
        pass
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(sum(uploaded), 0), coalesce(sum(downloaded), 0) "
                    "FROM user_statistics WHERE user_id = ANY(%s::uuid[])", [user_ids])
        up, down = cur.fetchone()
    return int(up), int(down)


def accounting_check(ports: list[int], passkeys: list[str], hashes: list[tuple[bytes, ...]],
                     rng: random.Random, peers_n: int) -> dict[str, Any]:
    from domain.accounts.models import User
    from domain.catalog.models import Torrent
    from domain.tracker import store

    # Plain torrents only (no freeleech, no double upload): credited = reported.
    plain = set(Torrent.objects.filter(name__startswith="Bench.", is_freeleech=False,
                                       is_double_upload=False, is_neutral_leech=False)
                .values_list("info_hash_v1", flat=True)[:50_000])
    plain_hashes = [hs for hs in hashes if hs[0] in plain]
    # Members of their own for this check, so no other phase's bytes land on them.
    members = passkeys[-peers_n:]
    peers = make_peers(rng, members, plain_hashes, peers_n)
    for p in peers:
        p.peer_id = p.shape["pid"] + os.urandom(20 - len(p.shape["pid"]))
    ids = [str(u) for u in User.objects.filter(passkey__in=members).values_list("id",
                                                                                  flat=True)]
    r = store.client()
    # What the throughput phases buffered is not reconciled: dropped from the bench's Redis.
    r.delete(store.buffer_key(), store.flushing_key())
    before = drain_and_sum(ids)
    started = time.perf_counter()
    failures = asyncio.run(send_peer_sequences(ports, peers, rng, steps=3))
    elapsed = time.perf_counter() - started
    after = drain_and_sum(ids)
    sent_up = sum(p.sent[-1][0] for p in peers if p.sent)
    sent_down = sum(p.sent[-1][1] for p in peers if p.sent)
    return {"announces": sum(len(p.sent) for p in peers), "failures": failures,
            "seconds": elapsed, "reported_up": sent_up, "reported_down": sent_down,
            "credited_up": after[0] - before[0], "credited_down": after[1] - before[1]}


# --- The run ---------------------------------------------------------------------------------

def first_at(ticks: list[tuple[int, list[int]]], threshold: float, t0: float) -> float | None:
    for sec, (ok, _bad) in ticks:
        if ok >= threshold:
            return sec + 1 - t0  # the end of the first second that reached it
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="per warm measurement")
    parser.add_argument("--cold-seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--torrents", type=int, default=200_000)
    parser.add_argument("--peers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300_000)
    parser.add_argument("--accounting-peers", type=int, default=2_000)
    parser.add_argument("--no-bulk-load", action="store_true",
                        help="cold phase with misses only (TRACKER_BULK_LOAD=0)")
    parser.add_argument("--skip", default="",
                        help="comma list of phases to skip: opentracker,trivial,"
                             "trivial-server,uvicorn,two,reuseport")
    parser.add_argument("--front", choices=["server", "uvicorn"], default="server",
                        help="the tracker's HTTP front: its own server (announce/server.py, "
                             "the Procfile's) or the ASGI app under uvicorn")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed (make bench-announce installs it: apt-get install wrk)")

    database_url = scratch_database_url()
    ensure_database(database_url)
    redis_proc, redis_port, redis_dir = start_redis()
    os.environ.update(DATABASE_URL=database_url, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
                      TRACKER_REDIS_PREFIX=BENCH_PREFIX, TRACKER_MIN_INTERVAL="0")
    # Production settings (no DEBUG) want a key; the bench's processes share this one.
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(48))
    procs: list[subprocess.Popen[bytes]] = []
    paths_file = ""
    try:
        import django

        django.setup()
        from domain.tracker import store

        passkeys, hashes = build_data(args.members, args.torrents)
        rng = random.Random(1)
        peers = make_peers(rng, passkeys[:-args.accounting_peers], hashes, args.peers)
        lines = make_sequence(rng, peers, hashes, args.requests)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("\n".join(lines) + "\n")
            paths_file = f.name
        r = store.client()
        results: dict[str, Any] = {}

        # 1-2. Cold start, then warm, on one process.
        r.flushall()
        port = free_port()
        extra = {"TRACKER_BULK_LOAD": "0"} if args.no_bulk_load else {}
        t0 = time.time()
        proc = start_tracker(args.front, port, tracker_env(redis_port, database_url, **extra))
        procs.append(proc)
        wait_port(port, proc, "tracker")
        listening = time.time() - t0
        cold = run_wrk(port, paths_file, args.cold_seconds, args.connections)
        warm_marker = r.get(f"{BENCH_PREFIX}:warm")
        loaded = json.loads(warm_marker)["at"] - t0 if warm_marker else None
        warm = run_wrk(port, paths_file, args.seconds, args.connections)
        results["warm_sample"] = verify_sample(port, lines)
        stop(proc)
        results.update(cold=cold, warm=warm)

        # 3. Baselines, same sequence.
        if "trivial" not in skip:
            port = free_port()
            proc = start_uvicorn("announce.trivial:application", port,
                                 tracker_env(redis_port, database_url))
            procs.append(proc)
            wait_port(port, proc, "trivial app")
            results["trivial"] = measure_warm(port, paths_file, args.seconds,
                                              args.connections)
            stop(proc)
        if "trivial-server" not in skip:
            port = free_port()
            proc = start_server(port, tracker_env(redis_port, database_url), trivial=True)
            procs.append(proc)
            wait_port(port, proc, "trivial server")
            results["trivial_server"] = measure_warm(port, paths_file, args.seconds,
                                                     args.connections)
            stop(proc)
        if "uvicorn" not in skip and args.front != "uvicorn":
            # The same tracker app under uvicorn's ASGI front, Redis as the warm phase
            # left it: what the tracker's own server gains.
            port = free_port()
            proc = start_uvicorn("announce.asgi:application", port,
                                 tracker_env(redis_port, database_url))
            procs.append(proc)
            wait_port(port, proc, "tracker under uvicorn")
            results["uvicorn"] = measure_warm(port, paths_file, args.seconds,
                                              args.connections)
            stop(proc)
        if "opentracker" not in skip:
            try:
                proc, port, ot_root = start_opentracker(hashes)
            except FileNotFoundError:
                print("opentracker is not installed (apt-get install opentracker): "
                      "no opentracker baseline", flush=True)
            else:
                procs.append(proc)
                results["opentracker"] = measure_warm(port, paths_file, args.seconds,
                                                      args.connections)
                results["opentracker_sample"] = verify_sample(port, lines)
                stop(proc)
                with open(os.path.join(ot_root, "opentracker.log"), errors="replace") as f:
                    results["opentracker_log"] = f.read()[-2000:]

        # 4. Two processes on two ports, one Redis.
        if "two" not in skip:
            ports = [free_port(), free_port()]
            two = [start_tracker(args.front, p, tracker_env(redis_port, database_url))
                   for p in ports]
            procs += two
            for p, pr in zip(ports, two, strict=True):
                wait_port(p, pr, "tracker")
            half = max(1, args.connections // 2)
            for p in ports:
                run_wrk(p, paths_file, 2, half)
            with tempfile.TemporaryDirectory():
                from concurrent.futures import ThreadPoolExecutor

                # Each process its own half of the sequence (as behind a balancer): from
                # one offset, both got every line at once, each peer's announces twice.
                with ThreadPoolExecutor(2) as pool:
                    both = list(pool.map(
                        lambda n: run_wrk(ports[n], paths_file, args.seconds, half,
                                          offset=n * (len(lines) // 2)), range(2)))
            results["two"] = both
            results["acct_two"] = accounting_check(ports, passkeys, hashes, rng,
                                                   args.accounting_peers // 2)
            stop(two[1])
            results["acct_one"] = accounting_check(ports[:1], passkeys[:-args.accounting_peers
                                                                       // 2], hashes, rng,
                                                   args.accounting_peers // 2)
            stop(two[0])

        # 5. Two processes on one port (the server's --workers 2, SO_REUSEPORT), one wrk.
        if "reuseport" not in skip and args.front == "server":
            port = free_port()
            proc = start_server(port, tracker_env(redis_port, database_url), workers=2)
            procs.append(proc)
            wait_port(port, proc, "tracker --workers 2")
            results["reuseport"] = measure_warm(port, paths_file, args.seconds,
                                                args.connections)
            stop(proc)
    finally:
        for proc in procs:
            stop(proc)
        if paths_file:
            os.unlink(paths_file)
        stop(redis_proc)
        shutil.rmtree(redis_dir, ignore_errors=True)

    report(args, results, listening, loaded, t0)


def _line(name: str, r: dict[str, Any]) -> str:
    # Which socket errors (wrk's connect/read/write/timeout): a server that resets
    # connections (read) is not one that runs out of ports or backlog (connect).
    kinds = ", ".join(f"{k} {r[k]}" for k in ("connect", "read", "write", "timeout")
                      if r.get(k))
    return (f"  {name:<22} {r['rps']:>8.0f} ok/s   p50 {r['p50_us'] / 1000:6.2f} ms   "
            f"p99 {r['p99_us'] / 1000:6.2f} ms   errors {int(r['errors'])}"
            + (f" (socket: {kinds})" if kinds else "") + f"   non-2xx {int(r['non2xx'])}\n"
            f"  {'':<22} requests written {int(r.get('sent', 0))}, "
            f"replies {int(r['ok'] + r['failed'])}"
            f": valid announces {int(r.get('announces', 0))}, valid scrapes "
            f"{int(r.get('scrapes', 0))}, failures {int(r['failed'])}; replies with a "
            f"Connection header {int(r.get('close_header', 0))}"
            + (f"\n  {'':<22} first failure: {r['first_failure']}"
               if r.get("first_failure") else ""))


def _sample_line(name: str, s: dict[str, Any]) -> str:
    return (f"  sample of {name} (decoded, {s['sampled']} requests of the sequence): "
            f"{s['announce']} valid announces ({s['peers']} peers in all), {s['scrape']} "
            f"scrapes, {s['failure']} failures {s['reasons'] or ''}, {s['other']} other; "
            f"{', '.join(f'{k!r} x{v}' for k, v in s['status_lines'].items())}; Content-Length "
            f"{s['content_length']}, 'Connection: close' {s['close_header']}, closed by the "
            f"server {s['closed_by_server']}")


def report(args: argparse.Namespace, results: dict[str, Any], listening: float,
           loaded: float | None, t0: float) -> None:
    warm, cold = results["warm"], results["cold"]
    print(f"\nannounce benchmark: {args.members} members, {args.torrents} torrents only in "
          f"PostgreSQL, empty Redis; {args.peers} peers of 6 client shapes, 8% scrapes; "
          f"wrk -t1 -c{args.connections}, new connection per request")
    print(f"cold start ({'misses only' if args.no_bulk_load else 'bulk load + batched misses'}"
          f"): listening {listening:.1f} s after start"
          + (f", bulk load done {loaded:.1f} s after start" if loaded else ""))
    half = warm["rps"] / 2
    secs = [f"{sec - t0:.0f}s:{ok}" for sec, (ok, _bad) in cold["ticks"]]
    print("  ok/s by second since start: " + " ".join(secs))
    reached = first_at(cold["ticks"], half, t0)
    print(f"  >= 50% of warm ({half:.0f} ok/s) at {reached:.0f} s after start"
          if reached is not None else "  never reached 50% of warm in the cold phase")
    print(f"  cold phase errors: {int(cold['errors'])} (failure replies "
          f"{int(cold['failed'])}, socket errors {int(cold['socket_errors'])})")
    front = "own server" if args.front == "server" else "uvicorn"
    print("warm, same sequence:")
    print(_line(f"tracker ({front})", warm))
    for name, key in (("opentracker (Debian)", "opentracker"),
                      ("tracker (uvicorn)", "uvicorn"),
                      ("trivial, own server", "trivial_server"),
                      ("trivial ASGI, uvicorn", "trivial"),
                      ("tracker --workers 2", "reuseport")):
        if key in results:
            print(_line(name, results[key]))
    for name, key in (("tracker", "warm_sample"), ("opentracker", "opentracker_sample")):
        if key in results:
            print(_sample_line(name, results[key]))
    if results.get("opentracker_log"):
        print("  opentracker said (tail):\n    "
              + "\n    ".join(results["opentracker_log"].splitlines()[-10:]))
    if "opentracker" in results:
        print(f"  ratio tracker/opentracker: {warm['rps'] / results['opentracker']['rps']:.2f}x"
              " (goal >= 0.5x)")
    if "trivial" in results:
        print(f"  ratio tracker/trivial ASGI app under uvicorn: "
              f"{warm['rps'] / results['trivial']['rps']:.1%}")
    if "trivial_server" in results:
        print(f"  ratio tracker/trivial reply from the own server: "
              f"{warm['rps'] / results['trivial_server']['rps']:.1%}")
    for name, key in (("tracker under uvicorn", "uvicorn"),
                      ("tracker --workers 2 (one port)", "reuseport"),
                      ("trivial reply, own server", "trivial_server"),
                      ("trivial ASGI app, uvicorn", "trivial")):
        if key in results and "opentracker" in results:
            print(f"  ratio {name}/opentracker: "
                  f"{results[key]['rps'] / results['opentracker']['rps']:.2f}x")
    if "two" in results:
        a, b = results["two"]
        print("two tracker processes (two ports, one Redis):")
        print(f"  together {a['rps'] + b['rps']:.0f} ok/s ({a['rps']:.0f} + {b['rps']:.0f}), "
              f"errors {int(a['errors'] + b['errors'])}")
        print(_line("process 1", a))
        print(_line("process 2", b))
        for name, key in (("two processes, alternating", "acct_two"),
                          ("one process", "acct_one")):
            acc = results[key]
            same = (acc["credited_up"] == acc["reported_up"]
                    and acc["credited_down"] == acc["reported_down"])
            print(f"  accounting, {name}: {acc['announces']} announces, "
                  f"{acc['failures']} failed; reported up/down {acc['reported_up']}/"
                  f"{acc['reported_down']}, credited {acc['credited_up']}/"
                  f"{acc['credited_down']}: {'equal' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
