"""Stale peers, cache invalidation taking effect, live peer counts, client names."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connections
from django.utils import timezone

from domain.accounts.models import UserStatistics
from domain.catalog.models import TorrentStatus
from domain.events import torrent_group
from domain.moderation.models import Ban, BanType
from domain.tracker import cache, store
from domain.tracker.announcing import AnnounceRequest, tracker_announce
from domain.tracker.cache import (
    cache_fill,
    invalidate_ip_bans,
    invalidate_torrent,
    invalidate_user,
    lookup,
)
from domain.tracker.clients import client_name
from domain.tracker.flush import tracker_flush
from domain.tracker.models import ClientRule, Peer, TorrentStatistics
from domain.tracker.reaper import tracker_reap_stale_peers
from domain.tracker.tasks import tracker_flush_task, tracker_reap_stale_peers_task
from tests.announce.factories import announce, call_app, failure, peer_id, query, scrape
from tests.factories import make_torrent, make_user


def _announce_at(user, torrent, *, now: float, left: int = 0):
    ih = bytes(torrent.info_hash_v1)
    cache_fill(passkey=user.passkey, info_hashes=[ih], ip="10.9.9.9")
    found = lookup(passkey=user.passkey, info_hashes=[ih], ip="10.9.9.9")
    return tracker_announce(passkey=user.passkey, found=found, now=now, request=AnnounceRequest(
        info_hash=ih, peer_id=peer_id(), ip="10.9.9.9", port=6881, uploaded=0,
        downloaded=0, left=left, event="started"))


@pytest.mark.django_db
def test_stale_peers_are_not_counted_and_are_reaped(member, settings):
    torrent = make_torrent()
    ih = bytes(torrent.info_hash_v1)
    long_ago = time.time() - 2 * settings.TRACKER_ANNOUNCE_INTERVAL - 60
    _announce_at(make_user("member"), torrent, now=long_ago)
    _announce_at(make_user("member"), torrent, now=long_ago, left=5)
    tracker_flush()
    Peer.objects.update(last_announce_at=timezone.now() - timedelta(hours=2))
    assert Peer.objects.filter(torrent=torrent).count() == 2
    # Counts skip them at once, before any reaper has run (as after a restart).
    assert scrape(member, ih)[b"files"][ih] == {b"complete": 0, b"downloaded": 0,
                                               b"incomplete": 0}
    announce(member, ih, peer_id(), left=0)
    result = tracker_reap_stale_peers()
    assert result["redis_peers"] == 0  # the announce already dropped them from its swarm
    assert result["db_peers"] == 2
    tracker_flush()
    ts = TorrentStatistics.objects.get(torrent=torrent)
    assert (ts.seeders, ts.leechers) == (1, 0)
    assert list(Peer.objects.filter(torrent=torrent).values_list("user_id", flat=True)) == \
        [member.id]


@pytest.mark.django_db
def test_reaper_recounts_what_the_owners_of_reaped_peers_seed_and_leech(member, settings):
    settings.TRACKER_MIN_INTERVAL = 0
    long_ago = time.time() - 2 * settings.TRACKER_ANNOUNCE_INTERVAL - 60
    gone = make_torrent(size=700)
    _announce_at(member, gone, now=long_ago)  # seeding, then the client vanished
    _announce_at(member, make_torrent(size=300), now=long_ago, left=5)  # leeching, same
    live = make_torrent(size=50)
    announce(member, bytes(live.info_hash_v1), peer_id(), left=0)
    announce(member, bytes(make_torrent(size=20).info_hash_v1), peer_id(), left=9)
    tracker_flush()
    stats = UserStatistics.objects.get(user=member)
    assert (stats.seeding_count, stats.leeching_count, stats.seeding_size) == (2, 2, 750)
    bystander = make_user("member")
    announce(bystander, bytes(live.info_hash_v1), peer_id(), left=0)
    tracker_flush()
    before = UserStatistics.objects.get(user=bystander).updated_at

    assert tracker_reap_stale_peers()["db_peers"] == 2
    stats.refresh_from_db()
    assert (stats.seeding_count, stats.leeching_count, stats.seeding_size) == (1, 1, 50)
    assert UserStatistics.objects.get(user=bystander).updated_at == before  # not touched


@pytest.mark.django_db
def test_reaper_fixes_statistics_of_a_swarm_gone_quiet(settings):
    torrent = make_torrent()
    _announce_at(make_user("member"), torrent, now=time.time())
    tracker_flush()
    assert TorrentStatistics.objects.get(torrent=torrent).seeders == 1
    settings.TRACKER_ANNOUNCE_INTERVAL = 0  # everything is stale now
    result = tracker_reap_stale_peers_task()
    assert result["redis_peers"] == 1
    assert TorrentStatistics.objects.get(torrent=torrent).seeders == 0
    assert tracker_flush_task() == 0


@pytest.mark.django_db
def test_passkey_reset_takes_effect(member, django_capture_on_commit_callbacks, settings):
    settings.TRACKER_LOCAL_CACHE_SECONDS = 60  # even this process's own copy is dropped
    ih = bytes(make_torrent().info_hash_v1)
    assert b"failure reason" not in announce(member, ih, peer_id(), left=0)
    old = member.passkey
    with django_capture_on_commit_callbacks(execute=True):
        member.reset_passkey()
        member.save()
        invalidate_user(member.id, passkeys=(old,))
    assert "Unknown passkey" in failure(announce(member, ih, peer_id(), passkey=old))
    assert b"failure reason" not in announce(member, ih, peer_id(), left=0)


@pytest.mark.django_db
def test_ban_takes_effect_on_invalidate(member, moderator, django_capture_on_commit_callbacks):
    ih = bytes(make_torrent().info_hash_v1)
    assert b"failure reason" not in announce(member, ih, peer_id(), left=5)
    with django_capture_on_commit_callbacks(execute=True):
        Ban.objects.create(ban_type=BanType.DOWNLOAD, user=member, reason="H&R",
                           issued_by=moderator)
        invalidate_user(member.id)  # no passkey given: the tracker remembers it
    assert "Download forbidden" in failure(announce(member, ih, peer_id(), left=5))


@pytest.mark.django_db
def test_ip_ban_takes_effect_on_invalidate(member, moderator,
                                           django_capture_on_commit_callbacks):
    ih = bytes(make_torrent().info_hash_v1)
    assert b"failure reason" not in announce(member, ih, peer_id(), ip="198.51.100.4")
    with django_capture_on_commit_callbacks(execute=True):
        Ban.objects.create(ban_type=BanType.IP, ip_range="198.51.100.0/24", reason="spam",
                           issued_by=moderator)
        invalidate_ip_bans()
    assert "IP banned" in failure(announce(member, ih, peer_id(), ip="198.51.100.4"))


@pytest.mark.django_db
def test_torrent_approval_and_freeleech_take_effect(member, django_capture_on_commit_callbacks):
    torrent = make_torrent(status=TorrentStatus.PENDING)
    ih = bytes(torrent.info_hash_v1)
    assert "Torrent pending" in failure(announce(member, ih, peer_id()))
    with django_capture_on_commit_callbacks(execute=True):
        torrent.status = TorrentStatus.APPROVED
        torrent.save()
        invalidate_torrent(torrent.id)
    assert b"failure reason" not in announce(member, ih, peer_id())


@pytest.mark.django_db
def test_unknown_torrent_uploaded_later(member, django_capture_on_commit_callbacks):
    torrent = make_torrent()
    ih = bytes(torrent.info_hash_v1)
    torrent_id = torrent.id
    torrent.delete()
    assert "Unregistered torrent" in failure(announce(member, ih, peer_id()))
    with django_capture_on_commit_callbacks(execute=True):
        torrent.id = torrent_id
        torrent.save(force_insert=True)
        invalidate_torrent(torrent.id, info_hashes=(ih,))
    assert b"failure reason" not in announce(member, ih, peer_id())


@pytest.mark.django_db
def test_client_rule_saved_in_admin_takes_effect(member, django_capture_on_commit_callbacks):
    ih = bytes(make_torrent().info_hash_v1)
    assert b"failure reason" not in announce(member, ih, peer_id(b"-UT3550-"))
    with django_capture_on_commit_callbacks(execute=True):
        ClientRule.objects.create(kind="deny", peer_id_prefix="-UT", name="uTorrent")
    assert "uTorrent is blocked" in failure(announce(member, ih, peer_id(b"-UT3550-")))


@pytest.mark.django_db(transaction=True)
async def test_peer_counts_published_to_the_torrent_group_throttled():
    user = await sync_to_async(make_user)("member")
    torrent = await sync_to_async(make_torrent)()
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(torrent_group(torrent.id), channel)
    ih = bytes(torrent.info_hash_v1)

    async def send(pid, left, event):
        await call_app(f"/announce/{user.passkey}", query(
            info_hash=ih, peer_id=pid, port=6881, uploaded=0, downloaded=0, left=left,
            event=event))

    await send(peer_id(), 0, "started")
    message = await asyncio.wait_for(layer.receive(channel), timeout=5)
    assert message == {"type": "peers.counts", "payload": {
        "torrent_id": str(torrent.id), "seeders": 1, "leechers": 0, "snatches": 0}}
    await send(peer_id(), 5, "started")  # within the throttle window: held back
    # The window passes, and an announce publishes before the held-back change's trailing
    # send (which then has nothing to add).
    store.client().delete(store.publish_key(str(torrent.id)))
    await send(peer_id(), 5, "started")
    message = await asyncio.wait_for(layer.receive(channel), timeout=5)
    assert message["payload"]["leechers"] == 2  # the next message is the third announce's
    await layer.group_discard(torrent_group(torrent.id), channel)
    await sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
async def test_a_throttled_change_is_published_once_when_the_window_ends(settings):
    # Wide enough for two announces on a loaded machine (CI once saw 500 ms end between them).
    settings.TRACKER_PEER_COUNTS_THROTTLE_MS = 2000
    torrent = await sync_to_async(make_torrent)()
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(torrent_group(torrent.id), channel)
    ih = bytes(torrent.info_hash_v1)

    async def send(left):  # a new member's client each time (no peer limit in the way)
        user = await sync_to_async(make_user)("member")
        reply = await call_app(f"/announce/{user.passkey}", query(
            info_hash=ih, peer_id=peer_id(), port=6881, uploaded=0, downloaded=0, left=left,
            event="started"))
        assert b"failure reason" not in reply[1]

    await send(0)
    first = await asyncio.wait_for(layer.receive(channel), timeout=5)
    assert (first["payload"]["seeders"], first["payload"]["leechers"]) == (1, 0)
    started = time.monotonic()
    await send(5)  # inside the window: held back...
    await send(5)  # ...and so is this one, which changes the counts again
    trailing = await asyncio.wait_for(layer.receive(channel), timeout=5)
    # ...until the window ends; then the counts of that moment, not the first change's.
    assert time.monotonic() - started > 0.3
    assert trailing == {"type": "peers.counts", "payload": {
        "torrent_id": str(torrent.id), "seeders": 1, "leechers": 2, "snatches": 0}}
    # The trailing send opened a window of its own: a change now trails it in turn. The
    # next message is that one's (a second trailing send for the two held-back changes
    # would come first, with 2 leechers).
    await send(5)
    again = await asyncio.wait_for(layer.receive(channel), timeout=5)
    assert time.monotonic() - started > 0.6
    assert again["payload"]["leechers"] == 3
    await layer.group_discard(torrent_group(torrent.id), channel)
    await sync_to_async(connections.close_all)()


@pytest.mark.parametrize(("pid", "name"), [
    (b"-qB4650-", "qBittorrent 4.6.5"),
    (b"-TR4060-", "Transmission 4.0.6"),
    (b"-TR0072-", "Transmission 0.72"),
    (b"-LT20A0-", "libtorrent (rasterbar) 2.0.10"),
    (b"-lt0D80-", "libTorrent (rakshasa) 0.13.8.0"),
    (b"-DE211s-", "Deluge 2.1.1.28"),
    (b"-UT355W-", "\u00b5Torrent 3.5.5"),
    (b"-AZ5770-", "Vuze 5.7.7.0"),
    (b"S58B-----", "Shadow 5.8.11"),
    (b"T03I-----", "BitTornado 0.3.18"),
    (b"M7-2-2--", "BitTorrent (mainline) 7.2.2"),
    (b"\x00\x01XYZ", "Unknown (XYZ)"),
])
def test_client_detection(pid, name):
    assert client_name(pid + b"\x00" * (20 - len(pid))) == name


@pytest.mark.django_db
def test_a_ban_that_runs_out_needs_no_invalidation(member, moderator, settings):
    settings.TRACKER_LOCAL_CACHE_SECONDS = 600
    ih = bytes(make_torrent().info_hash_v1)
    Ban.objects.create(ban_type=BanType.DOWNLOAD, user=member, reason="H&R",
                       issued_by=moderator, expires_at=timezone.now() + timedelta(seconds=1))
    assert "Download forbidden" in failure(announce(member, ih, peer_id(), left=5))
    time.sleep(1.1)  # the ban's end passes; nothing calls invalidate_user
    assert b"failure reason" not in announce(member, ih, peer_id(), left=5)


@pytest.mark.django_db
@pytest.mark.parametrize("other_process", [False, True])
def test_an_ip_ban_that_runs_out_needs_no_invalidation(member, moderator, settings,
                                                        other_process):
    settings.TRACKER_LOCAL_CACHE_SECONDS = 600
    settings.TRACKER_IP_BAN_CACHE_SECONDS = 600
    ih = bytes(make_torrent().info_hash_v1)
    Ban.objects.create(ban_type=BanType.IP, ip_range="198.51.100.0/24", reason="spam",
                       issued_by=moderator, expires_at=timezone.now() + timedelta(seconds=1))
    assert "IP banned" in failure(announce(member, ih, peer_id(), ip="198.51.100.7"))
    time.sleep(1.1)  # the ban's end passes; nothing calls invalidate_ip_bans
    if other_process:  # no local copy: the answer cached in Redis must not outlive the ban
        cache.local_clear()
    assert b"failure reason" not in announce(member, ih, peer_id(), ip="198.51.100.7")
