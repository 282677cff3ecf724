"""Two real BitTorrent clients (libtorrent from PyPI: a seeder and a leecher, each its own
session and member) transfer a torrent over loopback through our tracker, served by a
real uvicorn server on a free port; then the flush writes the snatch and both members'
credited transfer to PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import libtorrent as lt
import pytest

from domain.accounts.models import UserStatistics
from domain.catalog.models import Torrent, TorrentCategory
from domain.tracker import store
from domain.tracker.flush import tracker_flush
from domain.tracker.models import Announce, Peer, TorrentStatistics
from tests.factories import make_user

SIZE = 3 * 262_144 + 12_345  # several pieces, the last one short


def _make_torrent_file(root: Path) -> tuple[lt.torrent_info, bytes]:
    content = root / "seed" / "Real.Client.Test.bin"
    content.parent.mkdir(parents=True)
    content.write_bytes(os.urandom(SIZE))
    fs = lt.file_storage()
    lt.add_files(fs, str(content))
    ct = lt.create_torrent(fs, 262_144, flags=lt.create_torrent.v1_only)
    ct.set_priv(True)
    lt.set_piece_hashes(ct, str(content.parent))
    raw = lt.bencode(ct.generate())
    info = lt.torrent_info(raw)
    return info, raw


def _session() -> lt.session:
    return lt.session({
        "listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
        "enable_upnp": False, "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True, "announce_to_all_trackers": True,
        "alert_mask": lt.alert_category.status | lt.alert_category.tracker,
    })


def _add(ses: lt.session, info: lt.torrent_info, save_path: Path, url: str):
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(info)
    params.ti.add_tracker(url, 0)
    params.save_path = str(save_path)
    return ses.add_torrent(params)


def _buffered_events() -> list[bytes]:
    raw: list[bytes] = store.client().lrange(store.buffer_key(), 0, -1)  # type: ignore[assignment]
    return raw


@pytest.mark.django_db(transaction=True)
def test_libtorrent_seeder_and_leecher_through_our_tracker(tmp_path, tracker_server,
                                                           settings):
    settings.TRACKER_MIN_INTERVAL = 0
    seeder_member = make_user("uploader")
    leecher_member = make_user("member")
    info, _raw = _make_torrent_file(tmp_path)
    torrent = Torrent.objects.create(
        name="Real.Client.Test", info_hash_v1=info.info_hashes().v1.to_bytes(),
        version="v1", category=TorrentCategory.objects.get(slug="movies-hd"),
        uploader=seeder_member, status="approved", size=SIZE, file_count=1,
        piece_length=262_144, info_dict=info.info_section())
    assert hashlib.sha1(info.info_section()).digest() == info.info_hashes().v1.to_bytes()  # noqa: S324

    seeder, leecher = _session(), _session()
    hs = _add(seeder, info, tmp_path / "seed", f"{tracker_server}/announce/{seeder_member.passkey}")
    hl = _add(leecher, info, tmp_path / "leech",
              f"{tracker_server}/announce/{leecher_member.passkey}")
    deadline = time.monotonic() + 90
    while not hl.status().is_seeding and time.monotonic() < deadline:
        seeder.pop_alerts()
        leecher.pop_alerts()
        time.sleep(0.2)
    assert hl.status().is_seeding, f"download did not complete: {hl.status().state}"
    assert (tmp_path / "leech" / "Real.Client.Test.bin").read_bytes() == \
        (tmp_path / "seed" / "Real.Client.Test.bin").read_bytes()

    # Both clients leave: their `stopped` announces carry the final counters.
    seeder.remove_torrent(hs)
    leecher.remove_torrent(hl)
    while time.monotonic() < deadline:
        if sum(b'"ev":"stopped"' in e for e in _buffered_events()) >= 2:
            break
        time.sleep(0.2)
    events = _buffered_events()
    assert any(b'"ev":"completed"' in e for e in events)
    assert sum(b'"ev":"stopped"' in e for e in events) >= 2

    tracker_flush()
    leecher_stats = UserStatistics.objects.get(user=leecher_member)
    seeder_stats = UserStatistics.objects.get(user=seeder_member)
    assert leecher_stats.snatched_count == 1
    assert leecher_stats.downloaded >= SIZE and leecher_stats.downloaded_raw >= SIZE
    assert seeder_stats.uploaded >= SIZE and seeder_stats.uploaded_raw >= SIZE
    ts = TorrentStatistics.objects.get(torrent=torrent)
    assert ts.snatches == 1 and (ts.seeders, ts.leechers) == (0, 0)
    assert Announce.objects.filter(torrent=torrent, user=leecher_member,
                                   event="completed").count() == 1
    clients = set(Announce.objects.filter(torrent=torrent).values_list("client", flat=True))
    assert clients == {f"libtorrent (rasterbar) {lt.__version__.rsplit('.', 1)[0]}"}
    assert not Peer.objects.filter(torrent=torrent).exists()  # both stopped
