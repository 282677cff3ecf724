"""The dev launcher: private PostgreSQL and Redis start on free ports, serve, and stop
without leaving a process behind; given URLs pass through untouched. No Django database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis

from server import launcher


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) for every process /proc shows."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if stat[0] != "Z":
            found[int(entry.name)] = (int(stat[1]), cmdline)
    return found


def assert_nothing_left(server: launcher.PrivateServer) -> None:
    assert not launcher.tcp_answers(server.host, server.port)
    assert not launcher.pid_alive(server.pid)
    left = {pid: cmd for pid, (ppid, cmd) in _processes().items()
            if ppid == server.pid or str(server.directory) in cmd}
    assert left == {}


@pytest.fixture
def picked_ports(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every port the launcher picks, each checked to be free when picked."""
    picked: list[int] = []
    pick = launcher.free_port

    def spy(host: str = launcher.HOST) -> int:
        port = pick(host)
        assert not launcher.tcp_answers(host, port)
        picked.append(port)
        return port

    monkeypatch.setattr(launcher, "free_port", spy)
    return picked


def test_forced_private_servers_serve_on_free_ports_and_stop_cleanly(
    tmp_path: Path, picked_ports: list[int]
) -> None:
    env, servers = launcher.resolve({"TRACKER_FORCE_PRIVATE": "1", "KEEP": "me"},
                                    base_dir=tmp_path)
    try:
        by_kind = {server.kind: server for server in servers}
        assert sorted(by_kind) == ["postgres", "redis"]
        pg, rd = by_kind["postgres"], by_kind["redis"]
        assert env == {"TRACKER_FORCE_PRIVATE": "1", "KEEP": "me",
                       "DATABASE_URL": pg.url, "REDIS_URL": rd.url}
        assert pg.directory == tmp_path / "pg"
        assert rd.directory == tmp_path / "redis"
        for server in servers:
            assert server.port in picked_ports
            assert server.port not in (launcher.DEFAULT_PG_PORT, launcher.DEFAULT_REDIS_PORT)
            assert launcher.tcp_answers(server.host, server.port)

        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            assert conn.execute("SELECT current_database()").fetchone() == ("tracker",)
            conn.execute("CREATE EXTENSION pg_trgm")
            row = conn.execute("SELECT similarity('tracker', 'trackers')").fetchone()
            assert row is not None and 0 < row[0] < 1

        client = redis.Redis.from_url(env["REDIS_URL"])
        try:
            assert client.ping() is True
            assert client.set("launcher-test", "value") is True
            assert client.get("launcher-test") == b"value"
        finally:
            client.close()
    finally:
        launcher.stop_servers(servers)
    for server in servers:
        assert server.stopped
        assert_nothing_left(server)


def test_given_urls_pass_through_untouched_and_nothing_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("resolve must neither probe nor start anything")

    for name in ("start_private_postgres", "start_private_redis", "tcp_answers",
                 "redis_answers", "ensure_database"):
        monkeypatch.setattr(launcher, name, forbidden)
    given = {
        "DATABASE_URL": "postgres://someone:secret@db.invalid:6543/elsewhere",
        "REDIS_URL": "redis://cache.invalid:6380/5",
        "TRACKER_FORCE_PRIVATE": "1",
    }

    env, servers = launcher.resolve(given, base_dir=tmp_path)

    assert env == given
    assert env is not given
    assert servers == []
    assert list(tmp_path.iterdir()) == []


CRASHING_LAUNCHER = """
import os, signal, sys
from pathlib import Path
from server import launcher
pg = launcher.start_private_postgres(Path(sys.argv[1]))
rd = launcher.start_private_redis(Path(sys.argv[1]))
print(pg.pid, pg.port, rd.pid, rd.port, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no atexit, no cleanup: a crashed run
"""


def test_servers_left_by_a_crashed_run_do_not_block_the_next_start(tmp_path: Path) -> None:
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_LAUNCHER, str(tmp_path)], capture_output=True,
        text=True, cwd=launcher.REPO_DIR, timeout=60, check=False,
    )
    assert crashed.returncode == -9, crashed.stderr
    pg_pid, pg_port, rd_pid, rd_port = map(int, crashed.stdout.split())

    # The next launcher adopts what still runs, and stops it when done.
    with launcher.start_private_postgres(tmp_path) as pg, \
            launcher.start_private_redis(tmp_path) as rd:
        assert (pg.pid, pg.port, rd.pid, rd.port) == (pg_pid, pg_port, rd_pid, rd_port)
        assert pg.directory == tmp_path / "pg"
        with psycopg.connect(pg.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert_nothing_left(pg)
    assert_nothing_left(rd)

    # A pid file naming a dead server (a crash, then a reboot) is cleared, not obeyed.
    pidfile = tmp_path / "pg" / "data" / "postmaster.pid"
    pidfile.write_text(f"{pg_pid}\n{tmp_path}\n0\n{pg_port}\n\n127.0.0.1\n0 0\nready\n")
    with launcher.start_private_postgres(tmp_path) as again:
        assert again.pid != pg_pid
        with psycopg.connect(again.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert_nothing_left(again)


def test_a_directory_in_use_is_left_alone_and_leftovers_can_be_stopped(
    tmp_path: Path,
) -> None:
    with launcher.start_private_redis(tmp_path) as first:
        second = launcher.start_private_redis(tmp_path)
        assert second.directory == tmp_path / "redis-2"
        assert second.port != first.port
        second.detach()  # as `launcher env` does: left running, lock released

        assert launcher.stop_leftovers(tmp_path) == 1  # `first` is in use
        assert launcher.redis_answers(first.host, first.port)
        assert_nothing_left(second)
    assert_nothing_left(first)
