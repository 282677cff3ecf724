"""Accounting: deltas, restarts, freeleech/neutral/double upload, snatches, and what the
flush writes to PostgreSQL (user_statistics, torrent_statistics, peers, peer_history,
announces)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from domain.accounts.models import UserStatistics
from domain.bonus.models import FreeleechToken, TokenStatus
from domain.tracker.cache import global_freeleech_set
from domain.tracker.flush import tracker_flush
from domain.tracker.models import (
    Announce,
    Peer,
    PeerHistory,
    TorrentHistory,
    TorrentStatistics,
)
from tests.announce.factories import announce, peer_id
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db
MB = 1_000_000


@pytest.fixture(autouse=True)
def no_min_interval(settings):
    settings.TRACKER_MIN_INTERVAL = 0


def stats(user) -> UserStatistics:
    return UserStatistics.objects.get(user=user)


def session(user, torrent, reports, **kw):
    """One client's announces: (uploaded, downloaded, left, event) each."""
    pid = peer_id()
    ih = bytes(torrent.info_hash_v1)
    for up, down, left, event in reports:
        reply = announce(user, ih, pid, uploaded=up, downloaded=down, left=left,
                         event=event, **kw)
        assert b"failure reason" not in reply, reply
    return pid


def test_deltas_credited_and_everything_written_by_the_flush(member):
    torrent = make_torrent(size=300 * MB)
    pid = session(member, torrent, [(0, 0, 300 * MB, "started"),
                                    (5 * MB, 100 * MB, 200 * MB, None),
                                    (7 * MB, 300 * MB, 0, "completed")])
    assert tracker_flush() == 3
    s = stats(member)
    assert (s.uploaded, s.downloaded) == (7 * MB, 300 * MB)
    assert (s.uploaded_raw, s.downloaded_raw) == (7 * MB, 300 * MB)
    assert s.snatched_count == 1 and s.seeding_count == 1 and s.leeching_count == 0
    assert s.seeding_size == 300 * MB
    ts = TorrentStatistics.objects.get(torrent=torrent)
    assert (ts.seeders, ts.leechers, ts.snatches) == (1, 0, 1)
    assert (ts.total_uploaded, ts.total_downloaded) == (7 * MB, 300 * MB)
    assert ts.last_seeder_at is not None
    peer = Peer.objects.get(torrent=torrent, user=member)
    assert bytes(peer.peer_id) == pid and peer.is_seeder and peer.left == 0
    assert peer.announce_count == 3 and peer.completed_at is not None
    assert peer.client == "qBittorrent 4.6.5" and str(peer.ip) == "10.1.2.3"
    rows = list(Announce.objects.filter(torrent=torrent).order_by("created_at"))
    assert [r.event for r in rows] == ["started", "", "completed"]
    assert [r.downloaded_delta for r in rows] == [0, 100 * MB, 200 * MB]
    assert [r.credited_downloaded for r in rows] == [0, 100 * MB, 200 * MB]
    assert PeerHistory.objects.filter(torrent=torrent, user=member).count() == 3
    assert tracker_flush() == 0  # nothing left, nothing counted twice
    assert stats(member).downloaded == 300 * MB


def test_backwards_counter_is_a_restart_credited_nothing(member):
    torrent = make_torrent()
    session(member, torrent, [(0, 0, 0, "started"), (100 * MB, 0, 0, None),
                              (30 * MB, 0, 0, None), (80 * MB, 0, 0, None)])
    tracker_flush()
    assert stats(member).uploaded == 150 * MB  # 100, then 0 for the restart, then 50


def test_stopped_credits_the_last_delta_and_removes_the_peer(member):
    torrent = make_torrent()
    session(member, torrent, [(0, 0, 0, "started"), (9 * MB, 0, 0, "stopped")])
    tracker_flush()
    assert stats(member).uploaded == 9 * MB
    assert not Peer.objects.filter(torrent=torrent).exists()
    assert TorrentStatistics.objects.get(torrent=torrent).seeders == 0


def _leech(user, torrent):
    session(user, torrent, [(0, 0, 10 * MB, "started"), (4 * MB, 10 * MB, 0, "completed")])


def test_freeleech_torrent_credits_no_download_but_keeps_raw(member):
    torrent = make_torrent(is_freeleech=True)
    _leech(member, torrent)
    tracker_flush()
    s = stats(member)
    assert (s.downloaded, s.downloaded_raw, s.uploaded) == (0, 10 * MB, 4 * MB)
    row = Announce.objects.get(torrent=torrent, event="completed")
    assert (row.downloaded_delta, row.credited_downloaded) == (10 * MB, 0)


def test_freeleech_that_ended_counts_again(member):
    torrent = make_torrent(is_freeleech=True,
                           freeleech_until=timezone.now() - timedelta(hours=1))
    _leech(member, torrent)
    tracker_flush()
    assert stats(member).downloaded == 10 * MB


def test_global_freeleech_switch(member, settings):
    settings.TRACKER_FREELEECH = True
    _leech(member, make_torrent())
    other = make_user("member")
    global_freeleech_set(enabled=False)
    _leech(other, make_torrent())
    tracker_flush()
    assert stats(member).downloaded == 0
    assert stats(other).downloaded == 10 * MB


def test_member_freeleech_token_only_for_its_owner_and_torrent(member):
    torrent = make_torrent()
    FreeleechToken.objects.create(user=member, torrent=torrent, status=TokenStatus.ACTIVE,
                                  activated_at=timezone.now())
    other = make_user("member")
    _leech(member, torrent)
    _leech(other, torrent)
    _leech(member, make_torrent())
    tracker_flush()
    assert stats(member).downloaded == 10 * MB  # only the other torrent counts
    assert stats(other).downloaded == 10 * MB


def test_neutral_leech_counts_neither_way(member):
    _leech(member, make_torrent(is_neutral_leech=True))
    tracker_flush()
    s = stats(member)
    assert (s.uploaded, s.downloaded) == (0, 0)
    assert (s.uploaded_raw, s.downloaded_raw) == (4 * MB, 10 * MB)


def test_double_upload(member):
    _leech(member, make_torrent(is_double_upload=True))
    tracker_flush()
    s = stats(member)
    assert (s.uploaded, s.uploaded_raw, s.downloaded) == (8 * MB, 4 * MB, 10 * MB)


def test_snatch_recorded_once_per_member(member):
    torrent = make_torrent()
    _leech(member, torrent)
    _leech(member, torrent)  # a second client of the same member completes it again
    _leech(make_user("member"), torrent)
    tracker_flush()
    assert stats(member).snatched_count == 1
    assert TorrentStatistics.objects.get(torrent=torrent).snatches == 2


def test_leecher_stopping_complete_without_completed_is_a_snatch(member):
    """aria2 with --seed-time=0 says `started`, then `stopped` with nothing left: no
    `completed` ever. That is a snatch all the same, counted once, however often the member
    repeats it."""
    torrent = make_torrent()
    session(member, torrent, [(0, 0, 10 * MB, "started"), (0, 10 * MB, 0, "stopped")])
    tracker_flush()
    assert stats(member).snatched_count == 1
    assert TorrentStatistics.objects.get(torrent=torrent).snatches == 1
    history = TorrentHistory.objects.get(user=member, torrent=torrent)
    assert history.completed_at is not None and history.downloaded == 10 * MB
    first_done = history.completed_at
    # Again, by a second client of the member (and a regular announce of a seeder, which
    # completes nothing).
    session(member, torrent, [(0, 0, 10 * MB, "started"), (0, 10 * MB, 0, "stopped")])
    session(member, torrent, [(0, 0, 0, "started"), (0, 0, 0, None), (0, 0, 0, "stopped")])
    tracker_flush()
    assert stats(member).snatched_count == 1
    assert TorrentStatistics.objects.get(torrent=torrent).snatches == 1
    assert TorrentHistory.objects.get(user=member, torrent=torrent).completed_at == first_done


def test_leecher_turning_seeder_without_completed_is_a_snatch(member):
    """A client that skips `completed` and says it with a regular announce (left=0): the
    snatch, and completed_at on its peer row as `completed` would set it."""
    torrent = make_torrent()
    session(member, torrent, [(0, 0, 10 * MB, "started"), (0, 6 * MB, 4 * MB, None),
                              (0, 10 * MB, 0, None), (3 * MB, 10 * MB, 0, None)])
    tracker_flush()
    assert stats(member).snatched_count == 1
    assert TorrentStatistics.objects.get(torrent=torrent).snatches == 1
    peer = Peer.objects.get(torrent=torrent, user=member)
    assert peer.is_seeder and peer.completed_at is not None
    assert TorrentHistory.objects.get(user=member, torrent=torrent).completed_at is not None


def test_no_snatch_without_a_finished_download(member):
    """Nothing downloaded (a seeder, or a cross-seed starting complete), or something left
    when stopping: no snatch, no completed_at."""
    seeded, stopped_early = make_torrent(), make_torrent()
    session(member, seeded, [(0, 0, 0, "started"), (5 * MB, 0, 0, None),
                             (6 * MB, 0, 0, "stopped")])
    session(member, stopped_early, [(0, 0, 10 * MB, "started"),
                                    (0, 4 * MB, 6 * MB, "stopped")])
    tracker_flush()
    assert stats(member).snatched_count == 0
    for torrent in (seeded, stopped_early):
        assert TorrentStatistics.objects.get(torrent=torrent).snatches == 0
        assert TorrentHistory.objects.get(user=member, torrent=torrent).completed_at is None


def test_hybrid_announced_under_both_hashes_credited_once(member):
    torrent = make_torrent(version="hybrid")
    pid = peer_id()
    for ih in (bytes(torrent.info_hash_v1), bytes(torrent.info_hash_v2)[:20]):
        announce(member, ih, pid, left=10 * MB, event="started")
    for ih in (bytes(torrent.info_hash_v1), bytes(torrent.info_hash_v2)[:20]):
        announce(member, ih, pid, downloaded=10 * MB, left=0, event="completed")
    tracker_flush()
    s = stats(member)
    assert (s.downloaded, s.snatched_count) == (10 * MB, 1)
    assert Peer.objects.filter(torrent=torrent).count() == 1
    assert TorrentStatistics.objects.get(torrent=torrent).snatches == 1
