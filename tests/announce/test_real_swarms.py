"""Every BitTorrent client Debian ships, seeding to and leeching from itself through our
tracker on loopback (tests/announce/swarm.py has the harness; libtorrent's own test is
test_real_clients.py). Each test: the leecher's file is the seeder's byte for byte, and
after a flush both members' user_statistics and peer_history are what the clients said
and what really moved.

Swarms are heavy: run them alone, `flock /tmp/heavy.lock` around pytest.
"""

from __future__ import annotations

import signal

import pytest

from tests.announce.swarm import (
    assert_accounted,
    client_binary,
    free_port,
    make_swarm,
    start,
    stop,
    wait_event,
    wait_stopped,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_minimum_interval(settings):
    # Clients announce `completed` and `stopped` straight after their `started`.
    settings.TRACKER_MIN_INTERVAL = 0


# --- aria2 ---
# aria2 sends `key` as 8 random bytes, percent-encoded, `supportcrypto=1` and
# `no_peer_id=1`: before this test the tracker refused every announce it made.

def _aria2(binary: str, torrent, directory, port: int, *extra: str) -> list[str]:
    return [binary, "--no-conf", f"--dir={directory}", f"--listen-port={port}",
            "--interface=127.0.0.1", "--disable-ipv6=true", "--enable-dht=false",
            "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
            "--bt-tracker-connect-timeout=5", "--bt-tracker-timeout=10",
            "--file-allocation=none", "--summary-interval=0", "--console-log-level=notice",
            "--bt-stop-timeout=120", *extra, str(torrent)]


def test_aria2_seeds_and_leeches_through_our_tracker(tmp_path, tracker_server):
    aria2c = client_binary("/usr/bin/aria2c", "aria2")
    swarm = make_swarm(tmp_path, tracker_server)
    seeder = start(_aria2(aria2c, swarm.seed_torrent, swarm.seed_dir, free_port(),
                          "--check-integrity=true", "--seed-ratio=0.0"),
                   swarm.log("aria2-seeder"))
    # It seeds on once done, as members do (with --seed-time=0 aria2 goes straight from
    # `started` to `stopped`, never saying `completed`: see the note).
    leecher = start(_aria2(aria2c, swarm.leech_torrent, swarm.leech_dir, free_port(),
                           "--seed-ratio=0.0"), swarm.log("aria2-leecher"))
    try:
        swarm.wait_leeched(seeder, leecher)
        wait_event(swarm, swarm.leecher, "completed")
    finally:
        # aria2's graceful shutdown (SIGINT) announces `stopped`.
        stop(leecher, sig=signal.SIGINT)
        stop(seeder, sig=signal.SIGINT)
    entries = wait_stopped(swarm)
    # Its key really is binary, kept as hex; its peer_id names aria2.
    assert all(e["k"].startswith("0x") or e["k"].isprintable() for e in entries)
    assert_accounted(swarm, entries, client_name="aria2 1.")
