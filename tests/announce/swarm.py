"""Real BitTorrent clients swarming through our tracker on loopback: the shared harness.

A test builds one torrent (a few MiB of random bytes), registers it, gives each of two
members a .torrent carrying their own passkey, starts a seeding client and a leeching one,
waits until the leecher's file is byte for byte the seeder's, stops both (their `stopped`
announces carry the final counters), flushes, and checks that what PostgreSQL holds for the
two members is what the clients reported and what they really moved.

Every client is configured so nothing leaves loopback: DHT, PEX, local peer discovery,
UPnP/NAT-PMP off, listening on 127.0.0.1. The clients are Debian packages: `make install`
installs them as root (SYSTEM_TOOLS); a missing one fails its test under CI and skips
elsewhere, naming the package.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bencodepy
import pytest
import uvicorn
from asgiref.sync import SyncToAsync
from django.db import connections
from django.db.models import Sum
from django.test import override_settings

from announce.app import application
from domain.accounts.models import UserStatistics
from domain.catalog.models import Torrent, TorrentCategory
from domain.tracker import store
from domain.tracker.flush import tracker_flush
from domain.tracker.models import Peer, PeerHistory, TorrentHistory, TorrentStatistics
from domain.tracker.reaper import tracker_reap_stale_peers
from domain.tracker.swarm import swarm_counts
from tests.factories import make_user

PIECE = 262_144
SIZE = 3 * 1_048_576 + 12_345  # a few MiB, the last piece short
FILE_NAME = "Real.Client.Swarm.bin"
TIMEOUT = 120.0  # for the whole transfer; a healthy loopback swarm takes a few seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def client_binary(path: str, package: str) -> str:
    """The client's executable; a missing one fails under CI (coverage must not vanish
    quietly) and skips elsewhere, naming the package."""
    found = path if os.access(path, os.X_OK) else shutil.which(Path(path).name)
    if not found:
        message = (f"{path} is missing: this swarm test needs Debian's {package} "
                   "(`make install` as root installs it)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@contextlib.contextmanager
def uvicorn_front() -> Iterator[int]:
    """The ASGI app under a real uvicorn on a free loopback port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30  # a loaded machine (2 cores, other jobs) is slow
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield port
    server.should_exit = True
    thread.join(timeout=10)


@contextlib.contextmanager
def own_server_front() -> Iterator[int]:
    """The tracker's own server (announce/server.py, the Procfile's `tracker`) on uvloop
    in a thread, on a free loopback port."""
    import asyncio

    import uvloop

    from announce.server import listening_socket, serve

    port = free_port()
    sock = listening_socket("127.0.0.1", port, reuse_port=False, backlog=128)
    started = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        box["loop"], box["stop"] = asyncio.get_running_loop(), asyncio.Event()
        await serve(sock, stop=box["stop"], on_started=started.set)

    thread = threading.Thread(target=uvloop.run, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(30), "the tracker's server did not start"
    yield port
    box["loop"].call_soon_threadsafe(box["stop"].set)
    thread.join(timeout=10)
    sock.close()


FRONTS = {"own-server": own_server_front, "uvicorn": uvicorn_front}


@pytest.fixture(params=list(FRONTS))
def tracker_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """Our tracker on a real HTTP server on a free loopback port, on the test database:
    once on its own server (what the Procfile runs), once as the ASGI app under uvicorn
    (what server/asgi.py mounts for single-process sites)."""
    with FRONTS[request.param]() as port:
        yield f"http://127.0.0.1:{port}"
    # The server ran the cache fills in asgiref's thread for thread-sensitive work: its
    # database connection is closed there, or the test database cannot be dropped.
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
    connections.close_all()


def start(argv: list[str], log: Path, *, cwd: Path | None = None,
          env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=cwd,
                                env={**os.environ, **(env or {})})


def stop(proc: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM,
         grace: float = 15.0) -> None:
    """Ask a client to quit (it sends its `stopped` announce on the way out), then make
    sure its whole process group is gone."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=grace)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


@dataclass
class Swarm:
    """One torrent, two members (seeder and leecher), a .torrent for each."""

    root: Path
    tracker: str
    seed_dir: Path
    leech_dir: Path
    seed_torrent: Path
    leech_torrent: Path
    info_hash: bytes
    torrent: Any
    seeder: Any
    leecher: Any
    payload: bytes
    logs: list[Path] = field(default_factory=list)

    @property
    def leeched_file(self) -> Path:
        return self.leech_dir / FILE_NAME

    def log(self, name: str) -> Path:
        path = self.root / f"{name}.log"
        self.logs.append(path)
        return path

    def wait_leeched(self, *procs: subprocess.Popen[bytes], timeout: float = TIMEOUT
                     ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            path = self.leeched_file
            if path.exists() and path.stat().st_size == SIZE and \
                    path.read_bytes() == self.payload:
                return
            for p in procs:
                if p.poll() is not None and p.returncode not in (0, None):
                    break
            time.sleep(0.25)
        raise AssertionError(
            f"the leecher did not get the file in {timeout:.0f} s\n{self.report()}")

    def report(self) -> str:
        """What the tracker saw and what the clients said, for a failing test."""
        lines = ["buffered announces:"]
        for e in buffered():
            lines.append(f"  {e['u'][:8]} {e['pid'][:16]} ev={e['ev']!r} up={e['up']} "
                         f"down={e['down']} "
                         f"left={e['left']} cl={e['cl']!r} ip={e['ip']} port={e['port']}")
        from domain.metrics import ANNOUNCES

        for metric in ANNOUNCES.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total") and sample.labels["result"] != "ok":
                    lines.append(f"tracker answered {sample.labels}: {sample.value:.0f}")
        for peer in Peer.objects.filter(torrent=self.torrent):
            lines.append(f"peer row: {str(peer.user_id)[:8]} {bytes(peer.peer_id)!r} "
                         f"left={peer.left}")
        for log in self.logs:
            if log.exists():
                lines.append(f"--- {log.name} (tail)")
                lines.append(log.read_text(errors="replace")[-3000:])
        return "\n".join(lines)


def make_swarm(root: Path, tracker: str) -> Swarm:
    """The payload, a v1 private torrent of it (libtorrent's maker) registered on the site,
    and one .torrent per member carrying that member's announce URL (the info dict, and so
    the info hash, is the same in both)."""
    import libtorrent as lt

    seed_dir, leech_dir = root / "seed", root / "leech"
    seed_dir.mkdir(parents=True)
    leech_dir.mkdir(parents=True)
    payload = os.urandom(SIZE)
    (seed_dir / FILE_NAME).write_bytes(payload)
    fs = lt.file_storage()
    lt.add_files(fs, str(seed_dir / FILE_NAME))
    ct = lt.create_torrent(fs, PIECE, flags=lt.create_torrent.v1_only)
    ct.set_priv(True)
    lt.set_piece_hashes(ct, str(seed_dir))
    meta = ct.generate()
    info_raw = bencodepy.encode(meta[b"info"])
    info_hash = hashlib.sha1(info_raw).digest()  # noqa: S324 (BitTorrent v1's hash)

    seeder, leecher = make_user("uploader"), make_user("member")
    torrent = Torrent.objects.create(
        name="Real.Client.Swarm", info_hash_v1=info_hash, version="v1",
        category=TorrentCategory.objects.get(slug="movies-hd"), uploader=seeder,
        status="approved", size=SIZE, file_count=1, piece_length=PIECE, info_dict=info_raw)
    files = []
    for who in (seeder, leecher):
        path = root / f"{who.username}.torrent"
        path.write_bytes(bencodepy.encode({
            **meta, b"announce": f"{tracker}/announce/{who.passkey}".encode()}))
        files.append(path)
    return Swarm(root=root, tracker=tracker, seed_dir=seed_dir, leech_dir=leech_dir,
                 seed_torrent=files[0], leech_torrent=files[1], info_hash=info_hash,
                 torrent=torrent, seeder=seeder, leecher=leecher, payload=payload)


def buffered() -> list[dict[str, Any]]:
    raw: list[bytes] = store.client().lrange(store.buffer_key(), 0, -1)  # type: ignore[assignment]
    return [json.loads(r) for r in raw]


def wait_event(swarm: Swarm, member: Any, event: str, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(e["u"] == str(member.id) and e["ev"] == event for e in buffered()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{member.username} did not announce `{event}`\n"
                                 f"{swarm.report()}")
        time.sleep(0.2)


def wait_stopped(swarm: Swarm, *, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The buffer once both members' clients have said `stopped` as their last word (not
    only earlier: Transmission says `stopped` while it verifies, before `started`)."""
    deadline = time.monotonic() + timeout
    want = {str(swarm.seeder.id), str(swarm.leecher.id)}
    while True:
        entries = buffered()
        last = {e["u"]: e["ev"] for e in entries}
        if all(last.get(u) == "stopped" for u in want):
            return entries
        if time.monotonic() > deadline:
            raise AssertionError(f"both clients did not announce `stopped`\n{swarm.report()}")
        time.sleep(0.2)


def assert_accounted(swarm: Swarm, entries: list[dict[str, Any]], *,
                     client_name: str | tuple[str, ...] | None = None,
                     upload_reported: bool = True) -> None:
    """After a flush, each member's user_statistics and peer_history are the sum of what
    their client reported, and that is what really moved: the leecher downloaded the
    payload (a few pieces of slack for end-game duplicates) and the seeder, the only
    source, uploaded it.

    A client that never says `stopped` (Transmission on ^C, ctorrent's seeder) leaves its
    peer behind: it must be in the swarm and the peers table as what it last said, and
    then go as every such peer goes, two intervals after its last announce
    (`expire_silent_peers`). `upload_reported=False`: the seeder's client never announced
    after uploading (ctorrent's), so its upload is only what it said, credited exactly."""
    tracker_flush()
    slack = 4 * PIECE
    for member, field_name in ((swarm.leecher, "dd"), (swarm.seeder, "du")):
        mine = [e for e in entries if e["u"] == str(member.id)]
        reported = sum(e[field_name] for e in mine)
        # The tracker's deltas are differences of the client's running totals: the last
        # announce's total minus the first one's (a client starting a torrent says 0).
        counter = "down" if field_name == "dd" else "up"
        by_peer: dict[str, list[int]] = {}
        for e in mine:
            by_peer.setdefault(e["pid"], []).append(e[counter])
        assert reported == sum(v[-1] - v[0] for v in by_peer.values()), swarm.report()
        least = SIZE if upload_reported or field_name == "dd" else 0
        assert least <= reported <= SIZE + slack, (
            f"{member.username}: {counter} reported {reported}, payload {SIZE}\n"
            f"{swarm.report()}")
        stats = UserStatistics.objects.get(user=member)
        history = PeerHistory.objects.filter(user=member, torrent=swarm.torrent).aggregate(
            up=Sum("uploaded_delta"), down=Sum("downloaded_delta"))
        if field_name == "dd":
            assert stats.downloaded_raw == reported == history["down"]
            assert stats.downloaded == reported  # no freeleech here
        else:
            assert stats.uploaded_raw == reported == history["up"]
            assert stats.uploaded == reported
    leecher_stats = UserStatistics.objects.get(user=swarm.leecher)
    assert leecher_stats.snatched_count == 1
    assert TorrentHistory.objects.get(user=swarm.leecher,
                                      torrent=swarm.torrent).completed_at is not None
    last: dict[tuple[str, str], dict[str, Any]] = {(e["u"], e["pid"]): e for e in entries}
    silent = {k: e for k, e in last.items() if e["ev"] != "stopped"}
    rows = {(str(p.user_id), bytes(p.peer_id).hex()): p
            for p in Peer.objects.filter(torrent=swarm.torrent)}
    assert set(rows) == set(silent), swarm.report()
    for k, row in rows.items():
        assert (row.left, row.is_seeder) == (silent[k]["left"], silent[k]["left"] == 0)
    if silent:
        expire_silent_peers(swarm, max(e["ts"] for e in silent.values()))
    if client_name is not None:
        names = {e["cl"] for e in entries}
        assert all(n.startswith(client_name) for n in names), names


def expire_silent_peers(swarm: Swarm, last_announce: float) -> None:
    """A peer whose client quit without `stopped` leaves the swarm, the peers table and
    its member's seeding/leeching counts two intervals after its last announce, by the
    reaper's job. The interval is made one second here, so that is now."""
    with override_settings(TRACKER_ANNOUNCE_INTERVAL=1):
        time.sleep(max(0.0, last_announce + 2.2 - time.time()))
        result = tracker_reap_stale_peers()
        assert result["db_peers"] >= 1, (result, swarm.report())
        assert swarm_counts([str(swarm.torrent.id)], now=time.time()) == [
            (0, 0, 1)], swarm.report()
    assert not Peer.objects.filter(torrent=swarm.torrent).exists(), swarm.report()
    assert TorrentStatistics.objects.get(torrent=swarm.torrent).seeders == 0
    for member in (swarm.seeder, swarm.leecher):
        stats = UserStatistics.objects.get(user=member)
        assert (stats.seeding_count, stats.leeching_count) == (0, 0), swarm.report()
