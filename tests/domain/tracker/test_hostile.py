"""Hostile members: only what a link could carry is credited, repeated events wait for the
minimum interval, counters saturate, refused claims are recorded and flagged for staff,
and an entry PostgreSQL refuses is set aside without holding back anyone else's bytes."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from domain.accounts.models import UserStatistics
from domain.moderation.models import ModerationQueueItem, QueueSource
from domain.tracker import store
from domain.tracker.flush import (
    flush_take,
    flush_write_splitting,
    rejected_key,
    set_aside_count,
    tracker_flush,
)
from domain.tracker.models import Announce, FlushBatch, RefusedClaim, SetAsideEntry
from domain.tracker.swarm import MAX_COUNTER
from tests.announce.factories import announce, failure, peer_id
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db
MB = 1_000_000
HUGE = 2**53  # the largest counter the announce parser accepts
RATE = 2 * MB  # bytes/s: small, so a test's wall-clock time allows little


@pytest.fixture(autouse=True)
def physical_caps(settings):
    settings.TRACKER_MAX_RATE = RATE
    settings.TRACKER_MAX_DOWNLOAD_FACTOR = 2


def ok(reply):
    assert b"failure reason" not in reply, reply
    return reply


def stats(user):
    return UserStatistics.objects.get(user=user)


def honest(user, torrent, *, seconds: float, uploaded: int):
    """A real seeder's session: started, `seconds` later its upload, then stopped."""
    pid, ih = peer_id(), bytes(torrent.info_hash_v1)
    ok(announce(user, ih, pid, left=0, event="started"))
    time.sleep(seconds)
    ok(announce(user, ih, pid, uploaded=uploaded, left=0, event="stopped"))


def test_overflow_sequence_gains_nothing_and_everyone_elses_bytes_land(settings):
    """The issue's attack: alternating completed (2^53 uploaded) and started (a counter
    reset) from one passkey. Without a minimum interval in the way, so only the rate cap
    and saturation stand between it and an overflow."""
    settings.TRACKER_MIN_INTERVAL = 0
    attacker = make_user("member")
    others = [make_user("member") for _ in range(3)]
    torrent = make_torrent(size=50 * MB)
    ih, pid = bytes(torrent.info_hash_v1), peer_id()
    began = time.time()
    ok(announce(attacker, ih, pid, left=0, event="started"))
    for n in range(300):
        if n == 150:  # honest members announce in the middle of the attack
            for i, other in enumerate(others):
                honest(other, torrent, seconds=0.6, uploaded=(i + 1) * 100_000)
        ok(announce(attacker, ih, pid, uploaded=HUGE, left=0, event="completed"))
        ok(announce(attacker, ih, pid, uploaded=0, left=0, event="started"))
    took = time.time() - began

    tracker_flush()  # one flush period

    for i, other in enumerate(others):
        assert stats(other).uploaded == (i + 1) * 100_000
    # At most what RATE bytes/s carries over the attack's wall-clock time: against 300 *
    # 2^53 claimed.
    gained = stats(attacker).uploaded
    assert gained <= RATE * took
    refused = RefusedClaim.objects.filter(user=attacker)
    assert refused.count() == 300
    assert sum(r.uploaded_refused for r in refused) + gained == 300 * HUGE
    assert not RefusedClaim.objects.filter(user__in=others).exists()
    item = ModerationQueueItem.objects.get(target_type="user", target_id=attacker.id)
    assert item.source == QueueSource.AUTO_FLAG and item.flags == ["implausible_transfer"]
    assert not ModerationQueueItem.objects.filter(
        target_id__in=[o.id for o in others]).exists()
    assert store.client().llen(store.buffer_key()) == 0
    assert set_aside_count() == 0


def test_repeated_events_wait_for_the_minimum_interval(member, settings):
    """A real client's started, completed and stopped go through at once; a second started
    or completed is refused like any announce that comes too soon, and credits nothing."""
    settings.TRACKER_MIN_INTERVAL = 300
    torrent = make_torrent(size=50 * MB)
    ih, pid = bytes(torrent.info_hash_v1), peer_id()
    ok(announce(member, ih, pid, left=50 * MB, event="started"))
    assert "Announcing too fast" in failure(
        announce(member, ih, pid, left=50 * MB, event="started"))
    assert "Announcing too fast" in failure(
        announce(member, ih, pid, uploaded=1000, left=50 * MB))
    time.sleep(0.2)
    ok(announce(member, ih, pid, downloaded=100_000, left=0, event="completed"))
    assert "Announcing too fast" in failure(
        announce(member, ih, pid, uploaded=HUGE, left=0, event="completed"))
    assert "Announcing too fast" in failure(
        announce(member, ih, pid, uploaded=0, left=0, event="started"))
    ok(announce(member, ih, pid, uploaded=HUGE, downloaded=100_000, left=0,
                event="stopped"))
    assert tracker_flush() == 3
    s = stats(member)
    assert s.downloaded == 100_000 and s.snatched_count == 1
    assert 0 < s.uploaded <= RATE  # the stopped one's cap: well under a second of RATE
    assert RefusedClaim.objects.get(user=member).uploaded_refused == HUGE - s.uploaded
    assert Announce.objects.filter(user=member).count() == 3


def test_no_minimum_interval_refuses_an_announce_stamped_before_the_last(member, settings,
                                                                         clock):
    """Two tracker processes stamp announces with their own clocks: the later of two close
    announces of one peer can carry the earlier time. With TRACKER_MIN_INTERVAL = 0 it is
    taken (bench-announce's two processes were told "wait 1 more seconds"); with a
    minimum it is refused as too soon."""
    settings.TRACKER_MIN_INTERVAL = 0
    torrent = make_torrent(size=50 * MB)
    ih, pid = bytes(torrent.info_hash_v1), peer_id()
    ok(announce(member, ih, pid, left=0, event="started"))
    clock.advance(10)
    ok(announce(member, ih, pid, uploaded=1000, left=0))
    clock.advance(-0.005)  # stamped 5 ms before the previous one
    ok(announce(member, ih, pid, uploaded=1000, left=0))
    settings.TRACKER_MIN_INTERVAL = 300
    clock.advance(-0.005)
    assert "Announcing too fast" in failure(announce(member, ih, pid, uploaded=1000, left=0))
    assert tracker_flush() == 3
    assert stats(member).uploaded == 1000


def test_download_is_capped_by_a_multiple_of_the_torrent_size(member, settings):
    settings.TRACKER_MAX_RATE = 10**15  # only the size cap applies here
    settings.TRACKER_MIN_INTERVAL = 0
    torrent = make_torrent(size=10 * MB)
    ih, pid = bytes(torrent.info_hash_v1), peer_id()
    ok(announce(member, ih, pid, left=10 * MB, event="started"))
    ok(announce(member, ih, pid, downloaded=15 * MB, left=0, event="completed"))  # retries
    ok(announce(member, ih, pid, downloaded=15 * MB + 10**12, left=0))
    tracker_flush()
    # 15 MB credited; the second delta of 10^12 held at 2 x 10 MB.
    assert stats(member).downloaded == 35 * MB
    claim = RefusedClaim.objects.get(user=member)
    assert (claim.downloaded_credited, claim.downloaded_refused) == (20 * MB, 10**12 - 20 * MB)


def test_counters_saturate_at_bigint_max(member, settings):
    settings.TRACKER_MAX_RATE = 10**15
    settings.TRACKER_MIN_INTERVAL = 0
    torrent = make_torrent()
    ih, pid = bytes(torrent.info_hash_v1), peer_id()
    ok(announce(member, ih, pid, left=0, event="started"))
    tracker_flush()
    UserStatistics.objects.filter(user=member).update(uploaded=MAX_COUNTER - 10,
                                                      uploaded_raw=MAX_COUNTER - 10)
    time.sleep(0.01)
    ok(announce(member, ih, pid, uploaded=10 * MB, left=0))
    assert tracker_flush() == 1
    s = stats(member)
    assert (s.uploaded, s.uploaded_raw) == (MAX_COUNTER, MAX_COUNTER)
    assert set_aside_count() == 0


def test_one_member_flagged_once_however_many_refusals(member, settings):
    settings.TRACKER_MIN_INTERVAL = 0
    torrent = make_torrent()
    ih, pid = bytes(torrent.info_hash_v1), peer_id()
    ok(announce(member, ih, pid, left=0, event="started"))
    for n in range(1, 4):
        ok(announce(member, ih, pid, uploaded=n * HUGE // 4, left=0))
        tracker_flush()
    assert RefusedClaim.objects.filter(user=member).count() == 3
    assert ModerationQueueItem.objects.filter(target_id=member.id).count() == 1


def test_the_rule_switched_off_in_admin_records_claims_but_queues_nothing(member, settings):
    from domain.moderation.models import AutoFlagRule

    settings.TRACKER_MIN_INTERVAL = 0
    switched = AutoFlagRule.objects.filter(kind="transfer_implausible").update(is_active=False)
    assert switched >= 1  # the seeded rule
    torrent = make_torrent()
    ih, pid = bytes(torrent.info_hash_v1), peer_id()
    ok(announce(member, ih, pid, left=0, event="started"))
    ok(announce(member, ih, pid, uploaded=HUGE, left=0))
    tracker_flush()
    assert RefusedClaim.objects.filter(user=member).count() == 1
    assert not ModerationQueueItem.objects.filter(target_id=member.id).exists()


def test_an_open_item_of_the_member_gets_the_flag_added(member, settings):
    settings.TRACKER_MIN_INTERVAL = 0
    ModerationQueueItem.objects.create(target_type="user", target_id=member.id,
                                       source=QueueSource.USER_REPORT, flags=["reported"])
    torrent = make_torrent()
    ih, pid = bytes(torrent.info_hash_v1), peer_id()
    ok(announce(member, ih, pid, left=0, event="started"))
    ok(announce(member, ih, pid, uploaded=HUGE, left=0))
    tracker_flush()
    item = ModerationQueueItem.objects.get(target_id=member.id)
    assert item.source == QueueSource.USER_REPORT
    assert item.flags == ["reported", "implausible_transfer"]


def _buffer_entry(user, torrent, **fields):
    """An entry as the announce script writes it, with some fields changed."""
    entry = {"t": str(torrent.id), "u": str(user.id), "pid": peer_id().hex(), "k": "",
             "ip": "10.1.2.3", "port": 6881, "nw": 50, "cl": "x", "ua": "x", "ev": "",
             "up": 0, "down": 0, "left": 0, "du": 5 * MB, "dd": 0, "cu": 5 * MB, "cd": 0,
             "tf": 0, "sd": 1, "sn": 0, "ss": 0, "ls": 0, "ts": time.time(), "seeders": 1,
             "leechers": 0, "xu": 0, "xd": 0}
    entry.update(fields)
    return json.dumps(entry)


def test_an_entry_postgresql_refuses_is_set_aside_and_the_rest_lands(settings):
    settings.TRACKER_FLUSH_BATCH = 100
    users = [make_user("member") for _ in range(9)]
    torrent = make_torrent()
    r = store.client()
    for n, user in enumerate(users):
        # The fifth one's address is no address: its announces row cannot be written.
        r.rpush(store.buffer_key(), _buffer_entry(
            user, torrent, ip="not-an-ip" if n == 4 else "10.1.2.3"))
    assert tracker_flush() == 8
    assert [stats(u).uploaded for n, u in enumerate(users) if n != 4] == [5 * MB] * 8
    assert list(UserStatistics.objects.filter(user=users[4]).values_list(
        "uploaded", flat=True)) in ([], [0])
    aside = SetAsideEntry.objects.get()
    assert json.loads(aside.raw)["u"] == str(users[4].id)
    assert "DataError" in aside.error
    assert set_aside_count() == 1 and r.lrange(rejected_key(), 0, -1) == [str(aside.id).encode()]
    assert r.llen(store.buffer_key()) == 0
    assert FlushBatch.objects.filter(split=True).exists()
    # Later announces flow as usual.
    r.rpush(store.buffer_key(), _buffer_entry(users[0], torrent))
    assert tracker_flush() == 1
    assert stats(users[0]).uploaded == 10 * MB


def test_a_split_batch_replayed_after_a_crash_counts_nothing_twice(settings):
    settings.TRACKER_FLUSH_BATCH = 100
    users = [make_user("member") for _ in range(5)]
    torrent = make_torrent()
    r = store.client()
    for n, user in enumerate(users):
        r.rpush(store.buffer_key(), _buffer_entry(
            user, torrent, ip="not-an-ip" if n == 2 else "10.1.2.3"))
    batch = flush_take()
    assert batch is not None
    assert flush_write_splitting(batch) == 4
    # The process dies before releasing the batch: the next flush takes it again.
    assert tracker_flush() == 0
    assert [stats(u).uploaded for n, u in enumerate(users) if n != 2] == [5 * MB] * 4
    assert SetAsideEntry.objects.count() == 1 and set_aside_count() == 1


def test_a_crash_between_marking_the_split_and_writing_the_halves(settings):
    settings.TRACKER_FLUSH_BATCH = 100
    users = [make_user("member") for _ in range(4)]
    torrent = make_torrent()
    r = store.client()
    for user in users:
        r.rpush(store.buffer_key(), _buffer_entry(user, torrent))
    batch = flush_take()
    assert batch is not None
    # A split marker committed, then the crash: the replay writes the halves, once.
    FlushBatch.objects.create(id=batch.id, entries=4, split=True)
    assert tracker_flush() == 4
    assert [stats(u).uploaded for u in users] == [5 * MB] * 4
    assert FlushBatch.objects.filter(id=uuid.uuid5(batch.id, "0")).exists()
