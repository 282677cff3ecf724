"""Announce benchmark (`make bench-announce`): the tracker against a trivial ASGI app,
both under the same server (uvicorn, one worker, uvloop + httptools) in the same run.

Load: 10k torrents, 50k peers (2k members with 25 each), a mix of 5% started, 82%
regular, 3% completed, 2% stopped announces and 8% scrapes, each request on a new
connection (`Connection: close`) as real clients do, from wrk (64 connections) when it is
installed, else from a small asyncio load generator (slower: it shares the CPU).

The lookup cache is filled before the run (what a site in steady state has); the flush
runs in Celery, not in the measured process. Prints requests/s, p50/p99 latency, errors and
the ratio to the trivial app. Not a test: numbers depend on the machine; the ratio is what
compares runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")

WRK_LUA = r"""
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local i = 0
local counter = 0
setup = function(thread)
  thread:set("offset", counter * 7919)
  counter = counter + 1
end
init = function(args) i = (offset or 0) % #paths end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {["Connection"] = "close",
                                      ["User-Agent"] = "qBittorrent/4.6.5"})
end
done = function(summary, latency, requests)
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"errors": %d, "non2xx": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prefill(prefix: str, *, torrents: int, members: int, peers_per_member: int,
            requests: int, seed: int) -> list[str]:
    """Write the lookup records straight into Redis and build the request paths."""
    import django

    django.setup()
    from django.conf import settings

    from domain.tracker import store
    from domain.tracker.cache import MemberRecord, TorrentRecord, _encode

    settings.TRACKER_REDIS_PREFIX = prefix
    rng = random.Random(seed)
    r = store.client()
    pipe = r.pipeline(transaction=False)
    hashes = [rng.randbytes(20) for _ in range(torrents)]
    for n, h in enumerate(hashes):
        tid = str(uuid.UUID(int=n + 1))
        pipe.set(store.info_hash_key(h), _encode(TorrentRecord(
            id=tid, size=1 << 30, info_hashes=(h.hex(),),
            freeleech_until=float("inf") if n % 10 == 0 else 0.0)), ex=3600)
    passkeys = []
    for n in range(members):
        pk = f"{n:032x}"
        passkeys.append(pk)
        pipe.set(store.passkey_key(pk), _encode(MemberRecord(id=str(uuid.UUID(int=10**9 + n)),
                                                             max_peers=5)), ex=3600)
    pipe.set(store.ip_ban_key("127.0.0.1"), "", ex=3600)
    pipe.set(store.client_rules_key(), json.dumps({"allow": [], "deny": []}), ex=3600)
    pipe.execute()

    peers: list[dict[str, Any]] = []
    for m, pk in enumerate(passkeys):
        for _ in range(peers_per_member):
            peers.append({"pk": pk, "ih": hashes[rng.randrange(torrents)],
                          "pid": b"-qB4650-" + rng.randbytes(12), "port": 1024 + m,
                          "up": 0, "down": 0, "left": rng.choice([0, 0, 1 << 30])})
    paths = []
    for _ in range(requests):
        p = peers[rng.randrange(len(peers))]
        roll = rng.random()
        if roll < 0.08:
            picks = [peers[rng.randrange(len(peers))]["ih"] for _ in range(rng.choice([1, 1, 3]))]
            q = "&".join(f"info_hash={quote_from_bytes(h, safe='')}" for h in picks)
            paths.append(f"/scrape/{p['pk']}?{q}")
            continue
        event = ("started" if roll < 0.13 else "completed" if roll < 0.16
                 else "stopped" if roll < 0.18 else "")
        p["up"] += rng.randrange(1 << 20)
        if p["left"]:
            p["down"] += 1 << 20
        left = 0 if event == "completed" else p["left"]
        q = (f"info_hash={quote_from_bytes(p['ih'], safe='')}"
             f"&peer_id={quote_from_bytes(p['pid'], safe='')}&port={p['port']}"
             f"&uploaded={p['up']}&downloaded={p['down']}&left={left}&compact=1"
             f"&numwant=50&key=bench" + (f"&event={event}" if event else ""))
        paths.append(f"/announce/{p['pk']}?{q}")
    return paths


def start_server(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/uvicorn"), app, "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning", "--loop", "uvloop", "--http",
         "httptools", "--backlog", "4096"], cwd=ROOT, env=env)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{app} did not start on port {port}")


def run_wrk(port: int, paths_file: str, seconds: int, connections: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", f.name,
         f"http://127.0.0.1:{port}"], capture_output=True, text=True,
        env={**os.environ, "BENCH_PATHS": paths_file}, timeout=seconds + 60)
    os.unlink(f.name)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no result:\n{out.stdout}\n{out.stderr}")
    data = json.loads(line[6:])
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


async def _py_load(port: int, paths: list[str], seconds: float, connections: int
                   ) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            path = paths[next(counter) % len(paths)]
            t0 = time.perf_counter()
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Connection: close\r\n\r\n".encode())
                data = await reader.read()
                writer.close()
                if not data.startswith(b"HTTP/1.1 200"):
                    errors += 1
            except OSError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 100 else [0.0] * 99
    return {"requests": len(latencies), "rps": len(latencies) / elapsed,
            "p50_us": q[49] * 1e6, "p99_us": q[98] * 1e6, "errors": errors, "non2xx": 0}


def measure(app: str, env: dict[str, str], paths: list[str], paths_file: str, seconds: int,
            connections: int, use_wrk: bool) -> dict[str, float]:
    port = free_port()
    proc = start_server(app, port, env)
    try:
        if use_wrk:
            run_wrk(port, paths_file, 5, connections)  # warm-up: the process fills its copies
            return run_wrk(port, paths_file, seconds, connections)
        asyncio.run(_py_load(port, paths, 2, connections))
        return asyncio.run(_py_load(port, paths, seconds, connections))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--torrents", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--peers-per-member", type=int, default=25)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--python-load", action="store_true",
                        help="use the asyncio load generator even if wrk is installed")
    args = parser.parse_args()

    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    paths = prefill(prefix, torrents=args.torrents, members=args.members,
                    peers_per_member=args.peers_per_member, requests=args.requests, seed=1)
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    env = {**os.environ, "TRACKER_REDIS_PREFIX": prefix, "TRACKER_MIN_INTERVAL": "0",
           "DJANGO_SETTINGS_MODULE": "server.settings"}
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(paths) + "\n")
        paths_file = f.name
    try:
        tracker = measure("announce.asgi:application", env, paths, paths_file, args.seconds,
                          args.connections, use_wrk)
        trivial = measure("announce.trivial:application", env, paths, paths_file,
                          args.seconds, args.connections, use_wrk)
    finally:
        os.unlink(paths_file)
        from domain.tracker import store

        r = store.client()
        keys = list(r.scan_iter(match=f"{prefix}:*", count=5000))
        for i in range(0, len(keys), 5000):
            r.delete(*keys[i:i + 5000])
    gen = "wrk -t1" if use_wrk else "python asyncio"
    print(f"\nannounce benchmark: uvicorn (1 worker, uvloop, httptools), {gen}, "
          f"{args.connections} connections, new connection per request, {args.seconds}s, "
          f"{args.torrents} torrents, {args.members * args.peers_per_member} peers")
    for name, r_ in (("tracker", tracker), ("trivial ASGI app", trivial)):
        print(f"  {name:<17} {r_['rps']:>9.0f} req/s   p50 {r_['p50_us'] / 1000:6.2f} ms   "
              f"p99 {r_['p99_us'] / 1000:6.2f} ms   errors {int(r_['errors'])}"
              f"   non-2xx {int(r_['non2xx'])}")
    print(f"  ratio tracker/trivial: {tracker['rps'] / trivial['rps']:.1%}")


if __name__ == "__main__":
    main()
