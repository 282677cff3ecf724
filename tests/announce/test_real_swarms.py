"""Every BitTorrent client Debian ships, seeding to and leeching from itself through our
tracker on loopback (tests/announce/swarm.py has the harness; libtorrent's own test is
test_real_clients.py). Each test: the leecher's file is the seeder's byte for byte, and
after a flush both members' user_statistics and peer_history are what the clients said
and what really moved.

Swarms are heavy: run them alone, `flock /tmp/heavy.lock` around pytest.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tests.announce.swarm import (
    assert_accounted,
    buffered,
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
    # With --seed-time=0 aria2 quits once done, going straight from `started` to
    # `stopped` (left=0) and never saying `completed`: a snatch all the same.
    leecher = start(_aria2(aria2c, swarm.leech_torrent, swarm.leech_dir, free_port(),
                           "--seed-time=0"), swarm.log("aria2-leecher"))
    try:
        swarm.wait_leeched(seeder, leecher)
        wait_event(swarm, swarm.leecher, "stopped")
    finally:
        # aria2's graceful shutdown (SIGINT) announces `stopped`.
        stop(leecher, sig=signal.SIGINT)
        stop(seeder, sig=signal.SIGINT)
    entries = wait_stopped(swarm)
    mine = [e for e in entries if e["u"] == str(swarm.leecher.id)]
    assert [e["ev"] for e in mine] == ["started", "stopped"], swarm.report()
    assert mine[-1]["left"] == 0
    # Its key really is binary, kept as hex; its peer_id names aria2.
    assert all(e["k"].startswith("0x") or e["k"].isprintable() for e in entries)
    assert_accounted(swarm, entries, client_name="aria2 1.")


def _swarm_pair(swarm, seeder_argv, leecher_argv, *, name: str, stop_signal: int,
                cwd_seed=None, cwd_leech=None, env=None, grace: float = 15.0) -> list[dict]:
    """Start both, wait for the whole file and the leecher's `completed`, stop both
    gracefully; the buffered announces."""
    seeder = start(seeder_argv, swarm.log(f"{name}-seeder"), cwd=cwd_seed, env=env)
    leecher = start(leecher_argv, swarm.log(f"{name}-leecher"), cwd=cwd_leech, env=env)
    try:
        swarm.wait_leeched(seeder, leecher)
        wait_event(swarm, swarm.leecher, "completed")
    finally:
        stop(leecher, sig=stop_signal, grace=grace)
        stop(seeder, sig=stop_signal, grace=grace)
    return wait_stopped(swarm)


# --- Transmission (transmission-cli: one torrent, settings.json from its config dir) ---

def _transmission_config(directory, port: int) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "settings.json").write_text(json.dumps({
        "dht-enabled": False, "pex-enabled": False, "lpd-enabled": False,
        "utp-enabled": False, "port-forwarding-enabled": False,
        "bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1",
        "peer-port": port, "peer-port-random-on-start": False,
        "rename-partial-files": False, "incomplete-dir-enabled": False,
        "blocklist-enabled": False, "encryption": 1, "message-level": 2,
        "ratio-limit-enabled": False, "idle-seeding-limit-enabled": False,
        "speed-limit-up-enabled": False, "speed-limit-down-enabled": False}))
    return str(directory)


def test_transmission_leeches_through_our_tracker(tmp_path, tracker_server):
    """Transmission drops every peer a tracker gives it on 127.0.0.0/8 or ::1
    (libtransmission's isMartianAddr), so on loopback it cannot dial a seeder it was told
    of; it takes incoming connections. So it leeches here from a libtorrent seeder that
    starts after it and dials it (a seeder's announce is answered with the leechers).

    transmission-cli 3.00 says `started` and `completed` and, quitting on ^C, no `stopped`:
    its peer stays the seeder it became until it is two intervals old, then goes."""
    import libtorrent as lt

    binary = client_binary("/usr/bin/transmission-cli", "transmission-cli")
    swarm = make_swarm(tmp_path, tracker_server)
    port = free_port()
    leecher = start([binary, "-g", _transmission_config(tmp_path / "tr", port), "-p",
                     str(port), "-M", "-w", str(swarm.leech_dir), "-ep",
                     str(swarm.leech_torrent)], swarm.log("transmission-leecher"))
    session = lt.session({
        "listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
        "enable_upnp": False, "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True})
    handle = None
    try:
        wait_event(swarm, swarm.leecher, "started")
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(str(swarm.seed_torrent))
        params.save_path = str(swarm.seed_dir)
        handle = session.add_torrent(params)
        swarm.wait_leeched(leecher)
        wait_event(swarm, swarm.leecher, "completed")
    finally:
        # It is not waited for: a `stopped` it does send counts, none is what it does.
        stop(leecher, sig=signal.SIGINT, grace=5.0)
        if handle is not None:
            session.remove_torrent(handle)  # libtorrent announces `stopped`
    wait_event(swarm, swarm.seeder, "stopped")
    entries = buffered()
    del session
    leecher_clients = {e["cl"] for e in entries if e["u"] == str(swarm.leecher.id)}
    assert leecher_clients == {"Transmission 3.0.0"}, leecher_clients
    assert_accounted(swarm, entries, client_name=("Transmission 3.", "libtorrent "))


# --- qBittorrent (qbittorrent-nox: a profile directory of its own, torrents on the command
# line, no Web UI needed) ---

def _qbittorrent_profile(directory, port: int, save: str) -> str:
    conf = directory / "qBittorrent" / "config"
    conf.mkdir(parents=True)
    (conf / "qBittorrent.conf").write_text("\n".join([
        "[LegalNotice]", "Accepted=true", "",
        "[BitTorrent]", "Session\\DHTEnabled=false", "Session\\PeXEnabled=false",
        "Session\\LSDEnabled=false", f"Session\\Port={port}", "Session\\Interface=lo",
        "Session\\InterfaceName=lo", "Session\\InterfaceAddress=127.0.0.1",
        f"Session\\DefaultSavePath={save}", "Session\\AnonymousModeEnabled=false",
        "Session\\MultiConnectionsPerIp=true", "Session\\AddTrackersEnabled=false",
        "Session\\GlobalMaxRatio=-1", "Session\\QueueingSystemEnabled=false", "",
        "[Preferences]", "Connection\\UPnP=false", "General\\Locale=en",
        "WebUI\\Enabled=false", f"WebUI\\Port={free_port()}", "WebUI\\Address=127.0.0.1",
        ""]))
    return str(directory)


def test_qbittorrent_seeds_and_leeches_through_our_tracker(tmp_path, tracker_server):
    binary = client_binary("/usr/bin/qbittorrent-nox", "qbittorrent-nox")
    swarm = make_swarm(tmp_path, tracker_server)

    def argv(torrent, directory, profile) -> list[str]:
        return [binary, f"--profile={_qbittorrent_profile(profile, free_port(), directory)}",
                f"--save-path={directory}", f"--webui-port={free_port()}", str(torrent)]

    env = {"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    entries = _swarm_pair(swarm, argv(swarm.seed_torrent, swarm.seed_dir, tmp_path / "qb-s"),
                          argv(swarm.leech_torrent, swarm.leech_dir, tmp_path / "qb-l"),
                          name="qbittorrent", stop_signal=signal.SIGTERM, env=env)
    assert_accounted(swarm, entries, client_name="qBittorrent 4.")


# --- rTorrent (daemon mode: no terminal; options on the command line, no rc file) ---

def test_rtorrent_seeds_and_leeches_through_our_tracker(tmp_path, tracker_server):
    binary = client_binary("/usr/bin/rtorrent", "rtorrent")
    swarm = make_swarm(tmp_path, tracker_server)

    def argv(torrent, directory, session) -> list[str]:
        session.mkdir()
        port = free_port()
        options = ["system.daemon.set=true", "dht.mode.set=disable", "protocol.pex.set=no",
                   "trackers.use_udp.set=no", "network.port_random.set=no",
                   f"network.port_range.set={port}-{port}",
                   "network.bind_address.set=127.0.0.1", "pieces.hash.on_completion.set=no",
                   f"directory.default.set={directory}", f"session.path.set={session}",
                   "throttle.min_peers.normal.set=1", "throttle.min_peers.seed.set=1"]
        return [binary, "-n", *[a for o in options for a in ("-o", o)], str(torrent)]

    entries = _swarm_pair(swarm, argv(swarm.seed_torrent, swarm.seed_dir, tmp_path / "rt-s"),
                          argv(swarm.leech_torrent, swarm.leech_dir, tmp_path / "rt-l"),
                          name="rtorrent", stop_signal=signal.SIGINT)
    assert_accounted(swarm, entries, client_name="libTorrent (rakshasa) ")


# --- Deluge (deluged, driven by deluge-console; its own config directory) ---

def _deluge_config(directory, *, daemon_port: int, port: int, save) -> str:
    directory.mkdir(parents=True)
    core = {"dht": False, "upnp": False, "natpmp": False, "lsd": False, "utpex": False,
            "random_port": False, "listen_ports": [port, port],
            "listen_interface": "127.0.0.1", "outgoing_interface": "",
            "download_location": str(save), "move_completed": False,
            "new_release_check": False, "stop_seed_at_ratio": False,
            "max_active_seeding": -1, "max_active_downloading": -1, "max_active_limit": -1,
            "allow_remote": False, "daemon_port": daemon_port, "enabled_plugins": [],
            "pre_allocate_storage": False, "add_paused": False, "queue_new_to_top": False}
    (directory / "core.conf").write_text(json.dumps({"file": 1, "format": 1}) +
                                         json.dumps(core, indent=2))
    (directory / "auth").write_text("localclient:swarm-test:10\n")
    return str(directory)


def test_deluge_seeds_and_leeches_through_our_tracker(tmp_path, tracker_server):
    deluged = client_binary("/usr/bin/deluged", "deluged")
    console = client_binary("/usr/bin/deluge-console", "deluge-console")
    swarm = make_swarm(tmp_path, tracker_server)
    daemons = []
    try:
        for role, torrent, save in (("seeder", swarm.seed_torrent, swarm.seed_dir),
                                    ("leecher", swarm.leech_torrent, swarm.leech_dir)):
            daemon_port = free_port()
            config = _deluge_config(tmp_path / f"deluge-{role}", daemon_port=daemon_port,
                                    port=free_port(), save=save)
            log = swarm.log(f"deluge-{role}")
            daemons.append(start([deluged, "-c", config, "-d", "-p", str(daemon_port),
                                  "-i", "127.0.0.1", "-u", "127.0.0.1", "-L", "info"], log))
            add = [console, "-c", config, "-d", "127.0.0.1", "-p", str(daemon_port), "-U",
                   "localclient", "-P", "swarm-test", f"add -p {save} {torrent}"]
            for _ in range(60):  # the daemon takes a moment to listen
                done = subprocess.run(add, capture_output=True, text=True, timeout=60,
                                      check=False)
                if "Torrent added" in done.stdout:
                    break
                time.sleep(0.5)
            else:
                raise AssertionError(f"deluge-console could not add the torrent: "
                                     f"{done.stdout} {done.stderr}\n{swarm.report()}")
        swarm.wait_leeched(*daemons)
        wait_event(swarm, swarm.leecher, "completed")
        # Deluge's libtorrent folds sent payload into the torrent's totals on its one-second
        # tick; stopped at once, the seeder's `stopped` announce once said 39 KB less than it
        # had sent. Let two ticks pass before ^C (a settle, not a timing assertion).
        time.sleep(2.5)
    finally:
        for daemon in reversed(daemons):
            stop(daemon, sig=signal.SIGTERM)
    entries = wait_stopped(swarm)
    assert_accounted(swarm, entries, client_name="Deluge 2.")


# --- ctorrent (Enhanced CTorrent: no DHT, PEX or LPD to turn off) ---

def test_ctorrent_seeds_and_leeches_through_our_tracker(tmp_path, tracker_server):
    """Enhanced CTorrent leaves at least 15 s between two announces. Its leecher says
    `completed` and, on ^C, `stopped` at its next slot. Its seeder, once it has uploaded,
    announces nothing more: no regular announce (not within 40 s, at a 10 s interval) and
    no `stopped` on ^C. So its upload is never reported and never credited, and its peer is
    left to expire. The seeder starts second: its first announce names the leecher (its
    own address's connections it drops as "myself", so it must dial)."""
    binary = client_binary("/usr/bin/ctorrent", "ctorrent")
    swarm = make_swarm(tmp_path, tracker_server)

    def argv(torrent, directory, address: str) -> list[str]:
        return [binary, "-v", "-i", address, "-p", str(free_port()), "-e", "1", "-s",
                str(directory / "Real.Client.Swarm.bin"), str(torrent)]

    # ctorrent drops every peer at its own IP address as "myself" (whatever the port), so
    # the leecher listens and announces on another loopback address (it binds its tracker
    # connection to -i too, so the tracker sees 127.0.0.2).
    leecher = start(argv(swarm.leech_torrent, swarm.leech_dir, "127.0.0.2"),
                    swarm.log("ctorrent-leecher"), cwd=swarm.leech_dir)
    seeder = None
    try:
        wait_event(swarm, swarm.leecher, "started")
        seeder = start(argv(swarm.seed_torrent, swarm.seed_dir, "127.0.0.1"),
                       swarm.log("ctorrent-seeder"), cwd=swarm.seed_dir)
        swarm.wait_leeched(seeder, leecher)
        wait_event(swarm, swarm.leecher, "completed")
        os.killpg(leecher.pid, signal.SIGINT)
        wait_event(swarm, swarm.leecher, "stopped", timeout=40)
    finally:
        stop(leecher, sig=signal.SIGINT, grace=1.0)
        if seeder is not None:
            stop(seeder, sig=signal.SIGINT, grace=1.0)
    entries = buffered()
    assert [e["ev"] for e in entries if e["u"] == str(swarm.leecher.id)][-2:] == [
        "completed", "stopped"], swarm.report()
    assert_accounted(swarm, entries, client_name="Unknown (CD) 0.3", upload_reported=False)
