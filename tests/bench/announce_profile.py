"""In-process cost of an announce: the announce app called directly with prepared scopes
(no HTTP server), 64 at a time on uvloop, over the same load `make bench-announce` builds.
Prints Python CPU and wall time per request; `--profile` prints a cProfile of the run
instead (its own overhead doubles the figures). Not a test.

    .venv/bin/python tests/bench/announce_profile.py [--profile] [--requests 40000]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")
os.environ["TRACKER_MIN_INTERVAL"] = "0"
PREFIX = f"prof-{uuid.uuid4().hex[:8]}"
os.environ["TRACKER_REDIS_PREFIX"] = PREFIX

import announce_bench  # noqa: E402


async def _one(app: Any, path: str) -> None:
    # Leaner than tests/announce/factories.call_app (which keeps every message sent): that
    # one's bookkeeping adds ~5 us per call to the figure this script exists to measure.
    route, _, query = path.partition("?")
    scope = {"type": "http", "path": route, "query_string": query.encode(),
             "client": ("127.0.0.1", 5000),
             "headers": [(b"host", b"x"), (b"user-agent", b"qBittorrent/4.6.5")]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    await app(scope, receive, send)


async def _run(app: Any, paths: list[str], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(path: str) -> None:
        async with gate:
            await _one(app, path)

    await asyncio.gather(*(one(p) for p in paths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=40_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    warm = args.requests // 2
    paths = announce_bench.prefill(PREFIX, torrents=10_000, members=2_000,
                                   peers_per_member=25, requests=warm + args.requests, seed=1)
    import uvloop

    from announce.app import application

    async def measure() -> None:
        await _run(application, paths[:warm], args.concurrency)  # fills the process copies
        profiler = cProfile.Profile() if args.profile else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        await _run(application, paths[warm:], args.concurrency)
        if profiler:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        n = args.requests
        print(f"announce in-process: {n} requests, {args.concurrency} concurrent: "
              f"{cpu / n * 1e6:.1f} us CPU, {wall / n * 1e6:.1f} us wall per request")

    try:
        uvloop.run(measure())
    finally:
        from domain.tracker import store

        r = store.client()
        keys = list(r.scan_iter(match=f"{PREFIX}:*", count=5000))
        for i in range(0, len(keys), 5000):
            r.delete(*keys[i:i + 5000])


if __name__ == "__main__":
    main()
