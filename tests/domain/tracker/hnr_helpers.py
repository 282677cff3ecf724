"""Helpers for the hit-and-run and history tests: a clock the announce app reads (so seed
time can pass in a test), and a client that announces through the real app."""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.tracker.flush import tracker_flush
from tests.announce.factories import announce, peer_id

MB = 1_000_000
HOUR = 3600


class Clock:
    """What `time.time()` says inside the announce app; the tests move it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).timestamp() + 60

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    @property
    def dt(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)

    def later(self, seconds: float) -> datetime:
        return self.dt + timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    import time as real_time

    import announce.app

    c = Clock()
    # Only the wall clock moves; perf_counter, monotonic and the rest stay real.
    clocked = {name: getattr(real_time, name) for name in dir(real_time)
               if not name.startswith("_")}
    monkeypatch.setattr(announce.app, "time", types.SimpleNamespace(**{**clocked,
                                                                        "time": c.time}))
    return c


@dataclass
class Client:
    """One BitTorrent client of a member on a torrent, with its own counters."""

    user: Any
    torrent: Any
    uploaded: int = 0
    downloaded: int = 0
    pid: bytes = field(default_factory=peer_id)

    @property
    def left(self) -> int:
        return max(0, int(self.torrent.size) - self.downloaded)

    def send(self, event: str | None = None, **kw: Any) -> dict[bytes, Any]:
        return announce(self.user, bytes(self.torrent.info_hash_v1), self.pid,
                        uploaded=self.uploaded, downloaded=self.downloaded, left=self.left,
                        event=event, **kw)

    def ok(self, event: str | None = None) -> dict[bytes, Any]:
        reply = self.send(event)
        assert b"failure reason" not in reply, reply
        return reply


def download_completely(client: Client, clock: Clock, *, step: float = 600) -> None:
    """started, half, completed: the whole torrent downloaded in two steps."""
    client.ok("started")
    clock.advance(step)
    client.downloaded = int(client.torrent.size) // 2
    client.ok()
    clock.advance(step)
    client.downloaded = int(client.torrent.size)
    client.ok("completed")
    tracker_flush()


def seed_for(client: Client, clock: Clock, seconds: float, *, every: float = 1800) -> None:
    """Seed with a regular announce every `every` seconds (flushed at the end)."""
    done = 0.0
    while done < seconds:
        step = min(every, seconds - done)
        clock.advance(step)
        done += step
        client.ok()
    tracker_flush()
