"""A freeleech token frees a download only up to its byte cap: the allowance lives in Redis,
spent atomically by the announce script, and the flush adds what it freed to the token's
downloaded_bytes (once, whatever crashes)."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.utils import timezone

from domain.accounts.models import UserStatistics
from domain.bonus.models import FreeleechToken, TokenStatus
from domain.bonus.services import freeleech_tokens_expire
from domain.tracker.cache import global_freeleech_set, invalidate_user, local_clear
from domain.tracker.flush import flush_release, flush_take, flush_write, tracker_flush
from domain.tracker.models import Announce
from tests.announce.factories import announce, call_app, peer_id, query
from tests.factories import make_torrent, make_user

MB = 1_000_000


@pytest.fixture(autouse=True)
def no_min_interval(settings):
    settings.TRACKER_MIN_INTERVAL = 0


def token_on(user, torrent, *, cap: int | None) -> FreeleechToken:
    return FreeleechToken.objects.create(
        user=user, torrent=torrent, status=TokenStatus.ACTIVE, activated_at=timezone.now(),
        max_download_bytes=cap)


def report(user, torrent, pid, down, left, event=None):
    reply = announce(user, bytes(torrent.info_hash_v1), pid, downloaded=down, left=left,
                     event=event)
    assert b"failure reason" not in reply, reply


def downloaded(user) -> tuple[int, int]:
    s = UserStatistics.objects.get(user=user)
    return s.downloaded, s.downloaded_raw


@pytest.mark.django_db
def test_a_token_frees_up_to_its_cap_and_the_rest_is_charged(member):
    torrent = make_torrent(size=30 * MB)
    token = token_on(member, torrent, cap=15 * MB)
    pid = peer_id()
    report(member, torrent, pid, 0, 30 * MB, "started")
    report(member, torrent, pid, 10 * MB, 20 * MB)  # 10 free
    report(member, torrent, pid, 20 * MB, 10 * MB)  # 5 free, 5 charged
    report(member, torrent, pid, 30 * MB, 0, "completed")  # all 10 charged
    tracker_flush()
    assert downloaded(member) == (15 * MB, 30 * MB)
    rows = Announce.objects.filter(torrent=torrent).order_by("created_at")
    assert [r.credited_downloaded for r in rows] == [0, 0, 5 * MB, 10 * MB]
    token.refresh_from_db()
    assert token.downloaded_bytes == 15 * MB
    # The expiry job, which used to be the only limit, finds the token used up.
    assert freeleech_tokens_expire() == 1


@pytest.mark.django_db
def test_a_token_with_no_cap_frees_everything_and_counts_it(member):
    torrent = make_torrent()
    token = token_on(member, torrent, cap=None)
    pid = peer_id()
    report(member, torrent, pid, 0, 50 * MB, "started")
    report(member, torrent, pid, 50 * MB, 0, "completed")
    tracker_flush()
    assert downloaded(member) == (0, 50 * MB)
    token.refresh_from_db()
    assert token.downloaded_bytes == 50 * MB


@pytest.mark.django_db(transaction=True)
async def test_concurrent_announces_never_free_more_than_the_cap():
    user = await sync_to_async(make_user)("member")
    torrent = await sync_to_async(make_torrent)()
    await sync_to_async(token_on)(user, torrent, cap=10 * MB)
    ih = bytes(torrent.info_hash_v1)
    pids = [peer_id() for _ in range(3)]

    async def send(pid, down, event=None):
        params = dict(info_hash=ih, peer_id=pid, port=6881, uploaded=0, downloaded=down,
                      left=50 * MB)
        if event:
            params["event"] = event
        status, body = await call_app(f"/announce/{user.passkey}", query(**params))
        assert status == 200
        assert b"failure reason" not in body, body

    for pid in pids:
        await send(pid, 0, "started")
    # Time passes between a peer's announces, as it does for real clients: an announce in
    # the same millisecond as its last has 0 s elapsed, so the rate cap credits it nothing
    # (a fast machine lost a client's 6 MB that way: 15 MB raw, not 21).
    await asyncio.sleep(0.01)
    # Three clients report 6 MB each at once: their scripts reach Redis in one write.
    await asyncio.gather(*(send(pid, 6 * MB) for pid in pids))
    local_clear()  # another process, with no copy of the member's record: same counter
    await asyncio.sleep(0.01)
    await asyncio.gather(*(send(pid, 7 * MB) for pid in pids))
    await sync_to_async(tracker_flush)()

    def figures():
        token = FreeleechToken.objects.get(user=user)
        return downloaded(user), token.downloaded_bytes

    assert await sync_to_async(figures)() == ((11 * MB, 21 * MB), 10 * MB)
    await sync_to_async(connections.close_all)()


@pytest.mark.django_db
def test_filling_the_record_again_keeps_what_was_spent_and_follows_a_new_cap(
        member, django_capture_on_commit_callbacks):
    torrent = make_torrent()
    token = token_on(member, torrent, cap=10 * MB)
    pid = peer_id()
    report(member, torrent, pid, 0, 50 * MB, "started")
    report(member, torrent, pid, 8 * MB, 42 * MB)  # 8 free, still only in Redis
    with django_capture_on_commit_callbacks(execute=True):
        invalidate_user(member.id)  # the member's record is read from the database again
    report(member, torrent, pid, 16 * MB, 34 * MB)  # 2 free, 6 charged (not 8 free)
    with django_capture_on_commit_callbacks(execute=True):
        FreeleechToken.objects.filter(pk=token.pk).update(max_download_bytes=20 * MB)
        invalidate_user(member.id)  # what the token admin does on a change
    report(member, torrent, pid, 30 * MB, 20 * MB)  # 10 more free, 4 charged
    tracker_flush()
    assert downloaded(member) == (10 * MB, 30 * MB)
    token.refresh_from_db()
    assert token.downloaded_bytes == 20 * MB


@pytest.mark.django_db
def test_a_replayed_flush_adds_token_bytes_once(member, settings):
    settings.TRACKER_FLUSH_BATCH = 2
    torrent = make_torrent()
    token = token_on(member, torrent, cap=100 * MB)
    pid = peer_id()
    report(member, torrent, pid, 0, 50 * MB, "started")
    report(member, torrent, pid, 30 * MB, 20 * MB)
    batch = flush_take()
    assert batch is not None and flush_write(batch) is True
    # The flush dies before releasing the batch: it is offered again and skipped.
    again = flush_take()
    assert again is not None and again.id == batch.id and flush_write(again) is False
    flush_release(again)
    report(member, torrent, pid, 50 * MB, 0, "completed")
    tracker_flush()
    token.refresh_from_db()
    assert token.downloaded_bytes == 50 * MB
    assert downloaded(member) == (0, 50 * MB)


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["torrent", "global"])
def test_torrent_or_site_freeleech_leaves_the_token_unspent(member, how):
    torrent = make_torrent(is_freeleech=how == "torrent")
    token = token_on(member, torrent, cap=10 * MB)
    if how == "global":
        global_freeleech_set(enabled=True)
    pid = peer_id()
    report(member, torrent, pid, 0, 40 * MB, "started")
    report(member, torrent, pid, 40 * MB, 0, "completed")
    tracker_flush()
    assert downloaded(member) == (0, 40 * MB)
    token.refresh_from_db()
    assert token.downloaded_bytes == 0
