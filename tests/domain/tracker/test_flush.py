"""The flush is idempotent: a crash at any point loses nothing acknowledged to Redis and
counts nothing twice."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from domain.accounts.models import UserStatistics
from domain.tracker import store
from domain.tracker.flush import flush_release, flush_take, flush_write, tracker_flush
from domain.tracker.models import Announce, FlushBatch, SetAsideEntry, TorrentStatistics
from tests.announce.factories import announce, peer_id
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db
MB = 1_000_000


@pytest.fixture(autouse=True)
def small_batches(settings):
    settings.TRACKER_MIN_INTERVAL = 0
    settings.TRACKER_FLUSH_BATCH = 3


def _uploads(user, torrent, steps):
    pid = peer_id()
    for n in range(steps + 1):
        announce(user, bytes(torrent.info_hash_v1), pid, uploaded=n * MB, left=0,
                 event="started" if n == 0 else None)


def test_crash_before_the_write_loses_nothing(member):
    torrent = make_torrent()
    _uploads(member, torrent, 4)  # 5 entries: batches of 3 and 2
    taken = flush_take()
    assert taken is not None and len(taken.entries) == 3
    # The process dies here. The next flush takes the same batch again, then the rest.
    assert tracker_flush() == 5
    assert UserStatistics.objects.get(user=member).uploaded == 4 * MB
    assert Announce.objects.filter(torrent=torrent).count() == 5
    assert store.client().llen(store.buffer_key()) == 0


def test_crash_after_commit_before_release_counts_nothing_twice(member):
    torrent = make_torrent()
    _uploads(member, torrent, 2)
    batch = flush_take()
    assert batch is not None
    assert flush_write(batch) is True
    # Dies before flush_release: the batch is still in Redis and is offered again.
    again = flush_take()
    assert again is not None and again.id == batch.id
    assert flush_write(again) is False  # its id is in tracker_flush_batches
    flush_release(again)
    assert tracker_flush() == 0
    assert UserStatistics.objects.get(user=member).uploaded == 2 * MB
    assert Announce.objects.filter(torrent=torrent).count() == 3
    assert FlushBatch.objects.filter(id=batch.id, entries=3).exists()


def test_announces_during_a_crashed_flush_follow_it(member):
    torrent = make_torrent()
    _uploads(member, torrent, 1)
    flush_take()  # dies holding 2 entries
    announce(make_user("member"), bytes(torrent.info_hash_v1), peer_id(), left=0)
    assert tracker_flush() == 3
    assert TorrentStatistics.objects.get(torrent=torrent).seeders == 2


def test_one_statement_per_table_per_batch(member):
    torrents = [make_torrent() for _ in range(3)]
    users = [make_user("member") for _ in range(3)]
    for t in torrents:
        for u in users:
            announce(u, bytes(t.info_hash_v1), peer_id(), left=0)
    batch = flush_take()
    assert batch is not None
    with CaptureQueriesContext(connection) as queries:
        flush_write(batch)
    sql = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    # batch row, two existence checks, then announces, peer_history, peers, user and
    # torrent statistics: one statement each, whatever the batch holds; torrent_history
    # two (its rows locked, then upserted).
    assert len(sql) == 10


def test_entries_of_a_deleted_torrent_are_dropped_not_blocking(member):
    gone = make_torrent()
    kept = make_torrent()
    announce(member, bytes(gone.info_hash_v1), peer_id(), left=0)
    announce(member, bytes(kept.info_hash_v1), peer_id(), left=0)
    gone.delete()
    assert tracker_flush() == 2
    assert Announce.objects.filter(torrent_id=kept.id).count() == 1
    assert not Announce.objects.filter(torrent_id=gone.id).exists()


def test_a_forged_forwarded_address_cannot_rewrite_the_entry(member, settings):
    """An IPv6 zone id ("%...") in X-Forwarded-For once reached the buffer entry unescaped:
    a quote in it broke the entry (and every flush after it), and a crafted one could
    rename fields. The zone is dropped and every text escaped."""
    from tests.announce.factories import query, raw_get

    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    victim = make_user("member")
    torrent = make_torrent()
    forged = f'fe80::1%" "u": "{victim.id}'.encode()  # no comma: XFF splits on those
    q = query(info_hash=bytes(torrent.info_hash_v1), peer_id=peer_id(), port=7001,
              uploaded=5 * MB, downloaded=0, left=0, event="started")
    status, body = raw_get(f"/announce/{member.passkey}", q, ip="10.0.0.1",
                           headers=[(b"x-forwarded-for", forged)])
    assert status == 200 and b"failure reason" not in body
    assert tracker_flush() == 1
    row = Announce.objects.get(torrent=torrent)
    assert (row.user_id, row.ip) == (member.id, "fe80::1")
    assert not Announce.objects.filter(user=victim).exists()


def test_an_entry_that_does_not_parse_is_set_aside_not_blocking(member):
    torrent = make_torrent()
    _uploads(member, torrent, 1)
    r = store.client()
    r.lpush(store.buffer_key(), b'{"t": "broken')  # oldest entry: the first batch has it
    assert tracker_flush() == 2
    assert Announce.objects.filter(torrent=torrent).count() == 2
    aside = SetAsideEntry.objects.get()
    assert aside.raw == '{"t": "broken' and "not a JSON object" in aside.error
    assert r.lrange(store.buffer_key() + ":rejected", 0, -1) == [str(aside.id).encode()]
    assert r.llen(store.buffer_key()) == 0
