"""Ratio watch (Gazelle): the required ratio by amount downloaded and share seeded, the
watch with its deadline, leeching off in the tracker at the deadline and back with the
ratio, immunity by class."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from domain.accounts.models import UserStatistics
from domain.community.models import Notification
from domain.tracker.models import RatioWatch
from domain.tracker.ratiowatch import (
    GIB,
    member_ratio_watch_status,
    ratio_watch_check,
    required_ratio,
)
from tests.announce.factories import failure
from tests.domain.tracker.hnr_helpers import MB, Client
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def rules(settings):
    settings.TRACKER_MIN_INTERVAL = 0


@pytest.fixture
def check(django_capture_on_commit_callbacks):
    def run(now):
        with django_capture_on_commit_callbacks(execute=True):
            return ratio_watch_check(now=now)
    return run


def set_stats(user, *, up_gib: float, down_gib: float, seeding: int = 0,
              snatched: int = 0) -> None:
    UserStatistics.objects.filter(user=user).update(
        uploaded=int(up_gib * GIB), downloaded=int(down_gib * GIB), seeding_count=seeding,
        snatched_count=snatched)


@pytest.mark.parametrize(("down_gib", "seeding", "snatched", "expected"), [
    (0, 0, 0, "0.00"), (4.9, 0, 10, "0.00"), (5, 0, 10, "0.15"), (5, 10, 10, "0.00"),
    (25, 0, 10, "0.30"), (25, 5, 10, "0.15"), (25, 10, 10, "0.05"), (45, 9, 10, "0.20"),
    (150, 0, 0, "0.60"), (150, 20, 10, "0.60"), (10 ** 9, 0, 1, "0.60"),
])
def test_required_ratio_table(down_gib, seeding, snatched, expected):
    assert required_ratio(downloaded=int(down_gib * GIB), seeding=seeding,
                          snatched=snatched) == Decimal(expected)


def test_watch_deadline_leeching_off_and_back_with_the_ratio(member, check):
    set_stats(member, up_gib=1, down_gib=25, snatched=10)  # ratio 0.04 < 0.30
    now = timezone.now()
    assert check(now).started == 1
    watch = RatioWatch.objects.get(user=member, ended_at__isnull=True)
    assert watch.required_ratio == Decimal("0.30")
    assert watch.deadline_at == now + timedelta(days=14)
    assert Notification.objects.filter(user=member, target_type="ratio_watch",
                                       title="You are on ratio watch").exists()
    status = member_ratio_watch_status(user_id=member.pk)
    assert status.on_watch and not status.leech_disabled
    torrent = make_torrent(size=10 * MB)
    Client(member, torrent).ok("started")  # still allowed during the watch

    assert check(now + timedelta(days=13)).leech_disabled == 0
    assert check(now + timedelta(days=14, seconds=1)).leech_disabled == 1
    assert member_ratio_watch_status(user_id=member.pk).leech_disabled
    assert "ratio" in failure(Client(member, make_torrent(size=10 * MB)).send("started"))
    Client(member, torrent, downloaded=10 * MB).ok("started")  # seeding is allowed

    set_stats(member, up_gib=8, down_gib=25, snatched=10)  # 0.32: back
    assert check(now + timedelta(days=15)).ended == 1
    assert not member_ratio_watch_status(user_id=member.pk).on_watch
    Client(member, make_torrent(size=10 * MB)).ok("started")
    assert Notification.objects.filter(user=member, title="Ratio watch over").exists()
    assert check(now + timedelta(days=15)) == type(check(now))()  # nothing left to do


def test_raising_the_ratio_before_the_deadline_ends_the_watch(member, check):
    set_stats(member, up_gib=0, down_gib=6)
    now = timezone.now()
    check(now)
    set_stats(member, up_gib=1, down_gib=6)
    result = check(now + timedelta(days=1))
    assert (result.ended, result.leech_disabled) == (1, 0)


def test_small_downloads_and_good_ratios_are_not_watched(member, check):
    other = make_user("member")
    set_stats(member, up_gib=0, down_gib=4)
    set_stats(other, up_gib=50, down_gib=60)
    assert check(timezone.now()).started == 0


def test_an_immune_class_is_never_watched_and_gaining_immunity_ends_a_watch(member, check):
    vip = make_user("vip")  # the seed's VIP class grants Perm.IMMUNE_RATIO
    set_stats(vip, up_gib=0, down_gib=500)
    set_stats(member, up_gib=0, down_gib=500)
    now = timezone.now()
    assert check(now).started == 1
    assert not RatioWatch.objects.filter(user=vip).exists()
    assert member_ratio_watch_status(user_id=vip.pk).immune
    check(now + timedelta(days=15))
    member.group = vip.group
    member.save(update_fields=["group"])
    assert check(now + timedelta(days=16)).ended == 1
    Client(member, make_torrent(size=10 * MB)).ok("started")
