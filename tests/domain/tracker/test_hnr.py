"""Hit-and-run, end to end through the real announce app, flush and job: pre-warning, the
hit-and-run and its warning, download rights off at the limit and back, all cleared by
seeding off; and the edge cases (partial download, immune class and row, deleted torrent,
re-download, two clients, freeleech)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from domain.community.models import Notification
from domain.moderation.models import Warning
from domain.tracker.flush import tracker_flush
from domain.tracker.hnr import HnrState, hnr_check, member_hnr_status, torrent_seed_owed
from domain.tracker.loaders import member_leech_restrictions
from domain.tracker.models import TorrentHistory
from tests.announce.factories import failure
from tests.domain.tracker.hnr_helpers import (
    HOUR,
    MB,
    Client,
    download_completely,
    seed_for,
)
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def rules(settings):
    settings.TRACKER_MIN_INTERVAL = 0
    settings.TRACKER_ANNOUNCE_INTERVAL = 1800
    settings.HNR_SEED_HOURS = 4
    settings.HNR_RATIO = 1.0
    settings.HNR_GRACE_HOURS = 24
    settings.HNR_PREWARN_NOTICE_HOURS = 6
    settings.HNR_MAX_ACTIVE = 1
    settings.HNR_MIN_DOWNLOAD_PERCENT = 10


@pytest.fixture
def judge(django_capture_on_commit_callbacks):
    """The job, with what it does after commit done (invalidations, notifications)."""
    def run(now):
        with django_capture_on_commit_callbacks(execute=True):
            return hnr_check(now=now)
    return run


def row(user, torrent) -> TorrentHistory:
    return TorrentHistory.objects.get(user=user, torrent=torrent)


def state(user, torrent) -> str:
    owed = torrent_seed_owed(user_id=user.pk, torrent_id=torrent.pk)
    assert owed is not None
    return owed.state


def notices(user, target_type):
    return list(Notification.objects.filter(user=user, target_type=target_type)
                .order_by("created_at").values_list("title", flat=True))


def hit_and_run(member, clock, torrent, judge):
    """Download, seed an hour, stop: pre-warned, then a hit-and-run after the grace."""
    c = Client(member, torrent)
    download_completely(c, clock)
    seed_for(c, clock, HOUR)
    c.ok("stopped")
    tracker_flush()
    clock.advance(60)
    assert judge(clock.dt).prewarned == 1
    clock.advance(24 * HOUR)
    assert judge(clock.dt).recorded == 1
    return c


def test_pre_warning_hit_and_run_warning_lost_rights_then_seeded_off(member, clock, judge):
    torrent = make_torrent(size=100 * MB, name="Owed.Torrent")
    c = Client(member, torrent)
    download_completely(c, clock)
    seed_for(c, clock, HOUR)
    assert judge(clock.dt).prewarned == 0  # seeding: nothing to say
    assert row(member, torrent).seedtime_seconds == HOUR

    c.ok("stopped")
    tracker_flush()
    clock.advance(60)
    result = judge(clock.dt)
    assert result.prewarned == 1
    assert notices(member, "hit_and_run_prewarning") == [
        "Keep seeding Owed.Torrent: 3.0 h of seed time still owed"]
    assert state(member, torrent) == \
        HnrState.PREWARNED
    # Within the grace nothing more happens, and a second run repeats nothing.
    clock.advance(HOUR)
    assert judge(clock.dt) == type(result)()
    assert Warning.objects.filter(user=member).count() == 0

    clock.advance(24 * HOUR)
    assert judge(clock.dt).recorded == 1
    h = row(member, torrent)
    assert h.hnr_at is not None and h.hnr_warning_id is not None
    warning = Warning.objects.get(user=member)
    assert warning.source == "hnr" and warning.revoked_at is None
    assert "Owed.Torrent" in warning.reason
    assert notices(member, "hit_and_run") == ["Hit-and-run: Owed.Torrent"]
    assert member_hnr_status(user_id=member.pk).active == 1
    assert not member_hnr_status(user_id=member.pk).downloads_allowed

    # The tracker: no more downloads (of anything), seeding still allowed.
    other = make_torrent(size=10 * MB)
    assert "hit-and-run" in failure(Client(member, other).send("started"))
    c.ok("started")  # seeding the owed torrent is what clears it

    seed_for(c, clock, 3 * HOUR)
    assert judge(clock.dt).cleared == 1
    h.refresh_from_db()
    assert h.hnr_cleared_at is not None
    warning.refresh_from_db()
    assert warning.revoked_at is not None
    assert notices(member, "hit_and_run")[-1] == "Hit-and-run cleared: Owed.Torrent"
    assert member_hnr_status(user_id=member.pk).downloads_allowed
    Client(member, other).ok("started")  # downloads are back
    assert state(member, torrent) == \
        HnrState.CLEARED


def test_rights_go_off_only_at_the_configured_number(member, clock, settings, judge):
    settings.HNR_MAX_ACTIVE = 2
    hit_and_run(member, clock, make_torrent(size=10 * MB), judge)
    assert member_leech_restrictions(user_ids=[str(member.pk)]) == {}
    Client(member, make_torrent(size=10 * MB)).ok("started")
    hit_and_run(member, clock, make_torrent(size=10 * MB), judge)
    assert "2 hit-and-runs" in member_leech_restrictions(user_ids=[str(member.pk)])[
        str(member.pk)]
    assert "hit-and-run" in failure(Client(member, make_torrent(size=10 * MB)).send("started"))


def test_resuming_seeding_withdraws_the_pre_warning(member, clock, judge):
    torrent = make_torrent(size=10 * MB)
    c = Client(member, torrent)
    download_completely(c, clock)
    c.ok("stopped")
    tracker_flush()
    assert judge(clock.dt).prewarned == 1
    c.ok("started")
    tracker_flush()
    assert judge(clock.dt).withdrawn == 1
    clock.advance(30 * HOUR)  # the peer went stale without a stop: gone again
    assert judge(clock.dt).prewarned == 1
    clock.advance(7 * HOUR)
    assert judge(clock.dt).recorded == 1


def test_ratio_on_the_torrent_settles_it(member, clock, judge):
    torrent = make_torrent(size=10 * MB)
    c = Client(member, torrent)
    download_completely(c, clock)
    clock.advance(600)
    c.uploaded = 10 * MB
    c.ok("stopped")
    tracker_flush()
    clock.advance(30 * HOUR)
    assert judge(clock.dt).prewarned == 0
    assert state(member, torrent) == \
        HnrState.SETTLED


def test_a_partial_download_under_ten_percent_is_not_counted(member, clock, judge):
    torrent = make_torrent(size=100 * MB)
    c = Client(member, torrent)
    c.ok("started")
    clock.advance(600)
    c.downloaded = 9 * MB
    c.ok("stopped")
    tracker_flush()
    clock.advance(40 * HOUR)
    assert judge(clock.dt).prewarned == 0
    assert state(member, torrent) == \
        HnrState.NOT_COUNTED


def test_a_partial_download_over_ten_percent_abandoned_is_a_hit_and_run(member, clock, judge):
    torrent = make_torrent(size=100 * MB)
    c = Client(member, torrent)
    c.ok("started")
    clock.advance(600)
    c.downloaded = 30 * MB
    c.ok()
    tracker_flush()
    assert judge(clock.dt).prewarned == 0  # still downloading
    c.ok("stopped")
    tracker_flush()
    assert judge(clock.dt).prewarned == 1
    clock.advance(25 * HOUR)
    assert judge(clock.dt).recorded == 1


def test_an_immune_class_is_never_judged(clock, judge):
    vip = make_user("vip")
    staff = make_user("moderator")
    for who in (vip, staff):
        c = Client(who, make_torrent(size=10 * MB))
        download_completely(c, clock)
        c.ok("stopped")
    tracker_flush()
    clock.advance(40 * HOUR)
    assert judge(clock.dt).prewarned == 0
    assert not TorrentHistory.objects.filter(prewarned_at__isnull=False).exists()


def test_an_immune_row_is_never_judged_and_immunity_clears_one(member, clock, judge):
    torrent = make_torrent(size=10 * MB)
    hit_and_run(member, clock, torrent, judge)
    TorrentHistory.objects.filter(user=member, torrent=torrent).update(immune=True)
    assert judge(clock.dt).cleared == 1
    assert Warning.objects.get(user=member).revoked_at is not None


def test_a_deleted_torrent_clears_its_hit_and_runs_and_judges_no_new_ones(member, clock,
                                                                          judge):
    owed = make_torrent(size=10 * MB)
    hit_and_run(member, clock, owed, judge)
    owed.deleted_at = timezone.now()
    owed.save(update_fields=["deleted_at"])
    assert judge(clock.dt).cleared == 1
    assert Warning.objects.get(user=member).revoked_at is not None
    fresh = make_torrent(size=10 * MB)
    c = Client(member, fresh)
    c.ok("started")  # downloads are back
    fresh.deleted_at = timezone.now()
    fresh.save(update_fields=["deleted_at"])
    c.downloaded = 10 * MB
    c.ok("stopped")  # the tracker only learns of the deletion at its next cache fill
    tracker_flush()
    clock.advance(40 * HOUR)
    result = judge(clock.dt)
    assert (result.prewarned, result.recorded) == (0, 0)


def test_downloading_again_after_seeding_off_owes_nothing_new(member, clock, judge):
    torrent = make_torrent(size=10 * MB)
    c = Client(member, torrent)
    download_completely(c, clock)
    seed_for(c, clock, 4 * HOUR)
    c.ok("stopped")
    again = Client(member, torrent)
    download_completely(again, clock)
    again.ok("stopped")
    tracker_flush()
    clock.advance(40 * HOUR)
    result = judge(clock.dt)
    assert (result.prewarned, result.recorded) == (0, 0)


def test_two_clients_do_not_seed_it_off_twice_as_fast(member, clock, judge):
    torrent = make_torrent(size=10 * MB)
    a = Client(member, torrent)
    download_completely(a, clock)
    b = Client(member, torrent, downloaded=10 * MB)
    b.ok("started")
    for _ in range(4):  # two hours with both seeding
        clock.advance(1800)
        a.ok()
        b.ok()
    a.ok("stopped")
    b.ok("stopped")
    tracker_flush()
    assert row(member, torrent).seedtime_seconds == 2 * HOUR
    assert judge(clock.dt).prewarned == 1


def test_freeleech_downloads_owe_seeding_unless_exempt(member, clock, settings, judge):
    torrent = make_torrent(size=10 * MB, is_freeleech=True)
    c = Client(member, torrent)
    download_completely(c, clock)
    c.ok("stopped")
    tracker_flush()
    assert row(member, torrent).downloaded == 0
    assert judge(clock.dt).prewarned == 1  # freeleech spares the ratio only
    settings.HNR_FREELEECH_EXEMPT = True
    assert judge(clock.dt).withdrawn == 1


def test_freeleech_ended_mid_download_counts_the_charged_part_when_exempt(
        member, clock, settings, judge):
    settings.HNR_FREELEECH_EXEMPT = True
    torrent = make_torrent(size=100 * MB, is_freeleech=True,
                           freeleech_until=clock.later(900))
    c = Client(member, torrent)
    c.ok("started")
    clock.advance(600)
    c.downloaded = 95 * MB
    c.ok()
    clock.advance(600)  # freeleech over: the last 5 MB are charged (under 10%)
    c.downloaded = 100 * MB
    c.ok("completed")
    c.ok("stopped")
    tracker_flush()
    assert judge(clock.dt).prewarned == 0
    settings.HNR_MIN_DOWNLOAD_PERCENT = 5  # 5 MB charged reaches 5%
    assert judge(clock.dt).prewarned == 1


def test_neutral_torrents_count_in_raw_bytes(member, clock, judge):
    torrent = make_torrent(size=10 * MB, is_neutral_leech=True)
    c = Client(member, torrent)
    download_completely(c, clock)
    c.ok("stopped")
    tracker_flush()
    h = row(member, torrent)
    assert (h.downloaded, h.downloaded_raw) == (0, 10 * MB)
    assert judge(clock.dt).prewarned == 1
