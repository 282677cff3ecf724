"""torrent_history as the flush writes it: transfer credited and raw, strict seed time (the
1.5-interval gap rule, two clients counted once), completion, re-downloads, a freeleech
that ends mid-download, a deleted torrent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Sum

from domain.accounts.models import UserStatistics
from domain.tracker.flush import tracker_flush
from domain.tracker.models import PeerHistory, TorrentHistory
from tests.domain.tracker.hnr_helpers import MB, Client, download_completely
from tests.factories import make_torrent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def rules(settings):
    settings.TRACKER_MIN_INTERVAL = 0
    settings.TRACKER_ANNOUNCE_INTERVAL = 1800


def row(user, torrent) -> TorrentHistory:
    return TorrentHistory.objects.get(user=user, torrent=torrent)


def test_a_download_is_one_row_with_credited_raw_client_and_completion(member, clock):
    torrent = make_torrent(size=100 * MB)
    c = Client(member, torrent)
    download_completely(c, clock)
    h = row(member, torrent)
    assert (h.downloaded, h.downloaded_raw) == (100 * MB, 100 * MB)
    assert h.completed_at is not None and abs(h.completed_at.timestamp() - clock.now) < 1
    assert h.client.startswith("qBittorrent")
    assert h.seeding_until is not None and h.seeding_until > clock.dt  # seeding now
    assert h.leechtime_seconds == 1200 and h.seedtime_seconds == 0
    c.ok("stopped")
    tracker_flush()
    h.refresh_from_db()
    assert h.seeding_until is None and h.active_until is None


def test_seed_time_only_between_announces_at_most_one_and_a_half_intervals_apart(
        member, clock):
    torrent = make_torrent(size=10 * MB)
    c = Client(member, torrent, downloaded=10 * MB)
    c.ok("started")
    clock.advance(1800)
    c.ok()                      # 1800 s after a seeding announce: counted
    clock.advance(2700)
    c.ok()                      # exactly 1.5 intervals: counted
    clock.advance(3000)
    c.ok()                      # 3000 s > 2700: the swarm kept the peer, no seed time
    tracker_flush()
    assert row(member, torrent).seedtime_seconds == 1800 + 2700
    # The swarm's own series still counts every second the peer was in it.
    swarm = PeerHistory.objects.filter(user=member, torrent=torrent).aggregate(
        s=Sum("seedtime_seconds"))["s"]
    assert swarm == 1800 + 2700 + 3000


def test_two_clients_seeding_at_once_count_once(member, clock):
    torrent = make_torrent(size=10 * MB)
    home = Client(member, torrent, downloaded=10 * MB)
    box = Client(member, torrent, downloaded=10 * MB)
    home.ok("started")
    box.ok("started")
    for _ in range(4):
        clock.advance(900)
        home.ok()
        box.ok()
    tracker_flush()
    assert row(member, torrent).seedtime_seconds == 3600
    # Then one stops: the other still seeds, so the member is still seeding it.
    home.ok("stopped")
    clock.advance(900)
    box.ok()
    tracker_flush()
    h = row(member, torrent)
    assert h.seedtime_seconds == 3600 + 900
    assert h.seeding_until is not None and h.seeding_until > clock.dt
    assert TorrentHistory.objects.filter(user=member, torrent=torrent).count() == 1


def test_seed_time_across_batches_is_not_counted_twice(member, clock, settings):
    settings.TRACKER_FLUSH_BATCH = 1  # every announce its own batch
    torrent = make_torrent(size=10 * MB)
    a = Client(member, torrent, downloaded=10 * MB)
    b = Client(member, torrent, downloaded=10 * MB)
    a.ok("started")
    clock.advance(300)
    b.ok("started")
    clock.advance(1500)
    a.ok()      # a: 1800 s
    clock.advance(300)
    b.ok()      # b: 1800 s, of which 1500 overlap a
    tracker_flush()
    assert row(member, torrent).seedtime_seconds == 2100


def test_downloading_again_after_completing_keeps_one_row_and_first_completion(
        member, clock):
    torrent = make_torrent(size=20 * MB)
    first = Client(member, torrent)
    download_completely(first, clock)
    completed = row(member, torrent).completed_at
    first.ok("stopped")
    clock.advance(86400)
    again = Client(member, torrent)  # data deleted, downloaded afresh
    download_completely(again, clock)
    h = row(member, torrent)
    assert h.completed_at == completed
    assert h.downloaded_raw == 40 * MB
    assert UserStatistics.objects.get(user=member).snatched_count == 1


def test_freeleech_ending_mid_download_charges_only_the_rest(member, clock):
    torrent = make_torrent(size=100 * MB, is_freeleech=True,
                           freeleech_until=clock.later(900))
    c = Client(member, torrent)
    c.ok("started")
    clock.advance(600)
    c.downloaded = 40 * MB
    c.ok()                       # free
    clock.advance(600)           # freeleech is over
    c.downloaded = 100 * MB
    c.ok("completed")
    tracker_flush()
    h = row(member, torrent)
    assert (h.downloaded, h.downloaded_raw) == (60 * MB, 100 * MB)


def test_a_deleted_torrent_takes_its_rows_only_when_hard_deleted(member, clock):
    from django.utils import timezone

    torrent = make_torrent(size=10 * MB)
    download_completely(Client(member, torrent), clock)
    torrent.deleted_at = timezone.now() - timedelta(seconds=1)
    torrent.save(update_fields=["deleted_at"])
    assert TorrentHistory.objects.filter(torrent=torrent).exists()  # history stays
    torrent.delete()
    assert not TorrentHistory.objects.filter(torrent_id=torrent.pk).exists()
