"""Top 10 lists computed by the beat job from the history, statistics and ledger, with
paranoia honoured; daily site statistics and their charts on the statistics page."""

from __future__ import annotations

import os
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from domain.accounts.models import User, UserStatistics
from domain.bonus.models import BonusTransaction
from domain.catalog.models import SiteStatisticsDaily, Top10Entry
from domain.catalog.sitestats import (
    site_statistics_class_series,
    site_statistics_series,
    site_statistics_snapshot,
)
from domain.catalog.top10 import top10_lists, top10_refresh
from domain.tracker.models import (
    Peer,
    PeerHistory,
    PeerHistoryDaily,
    TorrentHistory,
    TorrentStatistics,
)
from server.celery import app, beat_schedule
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db
GIB = 1024**3


def board(name: str, period: str) -> list[tuple[str, Decimal]]:
    return [(e.label, e.value) for e in
            Top10Entry.objects.filter(board=name, period=period).order_by("rank")]


def raw(user: User, torrent, *, hours_ago: float, up: int = 0, down: int = 0,
        seed: int = 0) -> None:
    PeerHistory.objects.create(user=user, torrent=torrent, peer_id=os.urandom(20),
                               recorded_at=timezone.now() - timedelta(hours=hours_ago),
                               uploaded_delta=up, downloaded_delta=down,
                               seedtime_seconds=seed, is_seeder=seed > 0)


def daily(user: User, torrent, *, days_ago: int, up: int = 0, down: int = 0,
          seed: int = 0) -> None:
    PeerHistoryDaily.objects.create(user=user, torrent=torrent,
                                    day=date.today() - timedelta(days=days_ago),
                                    uploaded=up, downloaded=down, seedtime_seconds=seed,
                                    samples=1)


def test_torrent_boards_per_period():
    a, b = make_user(), make_user()
    hot = make_torrent(name="Hot.Today")
    old = make_torrent(name="Big.Last.Month")
    hidden = make_torrent(name="Pending.One", status="pending")
    raw(a, hot, hours_ago=2, down=5 * GIB, seed=600)
    raw(b, hot, hours_ago=3, up=1 * GIB)
    raw(a, hidden, hours_ago=1, up=50 * GIB)
    daily(a, old, days_ago=20, up=40 * GIB)
    # Snatches in a period are the tracker's completions (torrent_history.completed_at):
    # a completed Hot today, c ten days ago, b completed Old twenty days ago; b on Hot and
    # c on Old never completed (leechers), and a completion of the pending one is not listed.
    c = make_user()
    completed = [(a, hot, 2 / 24), (c, hot, 10), (b, old, 20), (b, hot, None),
                 (c, old, None), (a, hidden, 0.01)]
    for user, torrent, days_ago in completed:
        TorrentHistory.objects.create(
            user=user, torrent=torrent, completed_at=None if days_ago is None
            else timezone.now() - timedelta(days=days_ago))
    TorrentStatistics.objects.create(torrent=hot, seeders=3, leechers=0, snatches=7,
                                     total_uploaded=GIB)
    TorrentStatistics.objects.create(torrent=old, seeders=0, leechers=4, snatches=1,
                                     total_uploaded=40 * GIB)

    result = top10_refresh()

    assert result.entries == Top10Entry.objects.count() > 0
    assert board("active", "day") == [("Hot.Today", 2)]
    assert board("snatched", "day") == [("Hot.Today", 1)]
    assert board("snatched", "week") == [("Hot.Today", 1)]
    assert board("snatched", "month") == [("Hot.Today", 2), ("Big.Last.Month", 1)]
    assert board("transferred", "day") == [("Hot.Today", 6 * GIB)]
    assert board("transferred", "month") == [("Big.Last.Month", 40 * GIB),
                                             ("Hot.Today", 6 * GIB)]
    assert board("snatched", "all") == [("Hot.Today", 7), ("Big.Last.Month", 1)]
    assert board("best_seeded", "all") == [("Hot.Today", 3)]
    assert board("worst_seeded", "all")[0] == ("Big.Last.Month", 0)
    # The pending torrent is never listed.
    assert not Top10Entry.objects.filter(label="Pending.One").exists()
    # A second run replaces the lists, it does not add to them.
    assert top10_refresh().entries == result.entries


def test_member_boards_leave_out_who_paranoia_hides():
    loud, shy, gone = make_user(username="loud"), make_user(username="shy"), make_user()
    shy.privacy.show_uploaded = False
    shy.privacy.save()
    User.objects.filter(pk=gone.pk).update(status="disabled")
    t = make_torrent()
    for user, amount in ((loud, 2), (shy, 9), (gone, 20)):
        raw(user, t, hours_ago=1, up=amount * GIB, seed=amount * 100)
        UserStatistics.objects.filter(user=user).update(uploaded=amount * GIB)
        BonusTransaction.objects.create(user=user, transaction_type="earning",
                                        amount=amount, balance_after=amount)
        User.objects.filter(pk=user.pk).update(bonus_points=amount)

    top10_refresh()

    assert board("uploaders", "day") == [("loud", 2 * GIB)]
    assert board("uploaders", "all") == [("loud", 2 * GIB)]
    assert [name for name, _ in board("seeders", "week")] == ["shy", "loud"]
    assert [name for name, _ in board("bonus", "all")] == ["shy", "loud"]
    assert board("downloaders", "day") == []


def test_top10_page_reads_the_stored_lists(member):
    raw(member, make_torrent(name="Listed.Torrent"), hours_ago=1, up=GIB)
    top10_refresh()
    client = Client()
    client.force_login(member)

    html = client.get("/top10/", {"period": "week"}).content.decode()
    assert "Listed.Torrent" in html and "Most active torrents" in html
    assert client.get("/top10/", {"period": "'; DROP"}).status_code == 200
    lists = top10_lists(period="week")
    assert [entry.label for entry in lists[0].entries] == ["Listed.Torrent"]


def test_site_statistics_snapshot_and_the_charts(member, uploader):
    t = make_torrent()
    User.objects.filter(pk=member.pk).update(last_seen_at=timezone.now())
    Peer.objects.create(user=member, torrent=t, peer_id=os.urandom(20), ip="127.0.0.1",
                        port=6881, is_seeder=True, left=0)
    UserStatistics.objects.filter(user=member).update(uploaded=3 * GIB, downloaded=GIB)
    SiteStatisticsDaily.objects.create(day=date.today() - timedelta(days=1), members=1,
                                       torrents=0, members_per_class={"member": 1})

    row = site_statistics_snapshot()
    again = site_statistics_snapshot()

    assert again.day == row.day and SiteStatisticsDaily.objects.count() == 2
    assert (row.members, row.active_today, row.torrents, row.peers, row.seeders,
            row.leechers, row.transferred) == (2, 1, 1, 1, 1, 0, 4 * GIB)
    assert row.members_per_class == {"member": 1, "uploader": 1}
    series, per_class = site_statistics_series()
    assert per_class == {"member": 1, "uploader": 1}
    members = next(s for s in series if s.key == "members")
    assert [v for _, v in members.points] == [1.0, 2.0]
    client = Client()
    client.force_login(member)
    # Members per class, a chart per class over the days (a class absent one day is 0).
    classes = site_statistics_class_series()
    assert [(s.key, s.title, [v for _, v in s.points]) for s in classes] == [
        ("class:member", "Member", [1.0, 1.0]), ("class:uploader", "Uploader", [0.0, 1.0])]
    html = client.get("/statistics/").content.decode()
    assert html.count("<svg") == len(series) + 2 and "<polyline" in html
    assert 'data-figure="class:uploader"' in html and "Members: Uploader" in html
    assert "<script" not in html.split("<main", 1)[-1]


def test_beat_lists_the_catalog_jobs(settings):
    settings.TOP10_REFRESH_SECONDS = 321
    settings.SITE_STATISTICS_SECONDS = 654
    app.loader.import_default_modules()
    schedule = beat_schedule()
    assert schedule["catalog-top10-refresh"]["schedule"] == 321.0
    assert schedule["catalog-site-statistics-snapshot"]["schedule"] == 654.0
    assert {"catalog.top10_refresh", "catalog.site_statistics_snapshot"} <= set(app.tasks)
