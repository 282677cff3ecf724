"""The lists' seeder, leecher and snatch sorts read torrents.stat_*, copies of
torrent_statistics' counts kept by trigger (sql/0007_torrent_swarm_sort.sql): the order a
member sees is the order of what the tracker's flush wrote, and the copies follow every
writer of the statistics (the flush, the recount, a plain update, a deleted row)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client

from domain.bonus.housekeeping import statistics_recompute
from domain.catalog.models import Torrent
from domain.catalog.selectors import BrowseFilters, torrents_search, torrents_visible
from domain.tracker.flush import tracker_flush
from domain.tracker.models import Peer, TorrentStatistics
from tests.announce.factories import announce, peer_id
from tests.factories import make_torrent, make_user
from tests.frontend.api.conftest import key_for

pytestmark = pytest.mark.django_db
MB = 1_000_000


@pytest.fixture(autouse=True)
def no_min_interval(settings):
    settings.TRACKER_MIN_INTERVAL = 0


def copies() -> dict[Any, tuple[Any, ...]]:
    """Each torrent's copies beside its statistics row's counts (None: no row)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT t.id, t.stat_seeders, t.stat_leechers, t.stat_snatches, "
                       "s.seeders, s.leechers, s.snatches FROM torrents t "
                       "LEFT JOIN torrent_statistics s ON s.torrent_id = t.id")
        return {row[0]: row[1:] for row in cursor.fetchall()}


def assert_copies_agree() -> None:
    for pk, (seeders, leechers, snatches, *held) in copies().items():
        assert (seeders, leechers, snatches) == tuple(held), pk


def held_order(user: Any, field: str, order: str = "desc") -> list[Any]:
    """The order the database's statistics give, spelled as the join the lists used."""
    f = F(f"statistics__{field}")
    ordering = f.desc(nulls_last=True) if order == "desc" else f.asc(nulls_last=True)
    return list(torrents_visible(user).order_by(ordering, "-id").values_list("pk", flat=True))


def listed(user: Any, sort: str, order: str = "desc") -> list[Any]:
    return [t.pk for t in torrents_search(user=user, filters=BrowseFilters(
        sort=sort, order=order), limit=100).items]


def seed(torrent: Any, user: Any) -> bytes:
    pid = peer_id()
    announce(user, bytes(torrent.info_hash_v1), pid, left=0, event="started")
    return pid


def leech_to_completion(torrent: Any, user: Any) -> None:
    pid = peer_id()
    ih = bytes(torrent.info_hash_v1)
    announce(user, ih, pid, left=torrent.size, event="started")
    announce(user, ih, pid, downloaded=torrent.size, left=0, event="completed")


def test_the_seeder_sort_is_what_the_flush_wrote(member):
    users = [make_user("member") for _ in range(4)]
    few, most, some = (make_torrent(name=n) for n in ("Few.Seeds", "Most.Seeds", "Some.Seeds"))
    unseen = make_torrent(name="Never.Announced")  # no statistics row at all
    for u in users[:3]:
        seed(most, u)
    for u in users[:2]:
        seed(some, u)
    leaving = seed(few, users[0])
    announce(users[1], bytes(few.info_hash_v1), peer_id(), left=few.size, event="started")
    announce(users[2], bytes(few.info_hash_v1), peer_id(), left=few.size, event="started")
    tracker_flush()

    assert_copies_agree()
    assert listed(member, "seeders") == held_order(member, "seeders") \
        == [most.pk, some.pk, few.pk, unseen.pk]
    assert listed(member, "leechers") == held_order(member, "leechers")
    assert listed(member, "leechers")[0] == few.pk
    assert listed(member, "seeders", "asc") == held_order(member, "seeders", "asc") \
        == [few.pk, some.pk, most.pk, unseen.pk]  # no row: last both ways

    # What a member sees through the API: the same order, the counts the flush wrote.
    body = Client().get("/api/v1/torrents", {"sort": "seeders"},
                        headers={"Authorization": f"Bearer {key_for(member)}"}).json()
    assert [(r["name"], r["seeders"]) for r in body["results"]] == [
        ("Most.Seeds", 3), ("Some.Seeds", 2), ("Few.Seeds", 1), ("Never.Announced", 0)]

    # The tracker's next accounting moves the order: Few.Seeds' one seeder leaves and two
    # members finish Some.Seeds.
    announce(users[0], bytes(few.info_hash_v1), leaving, left=0, event="stopped")
    leech_to_completion(some, users[2])
    leech_to_completion(some, users[3])
    tracker_flush()
    assert TorrentStatistics.objects.get(torrent=some).seeders == 4
    assert_copies_agree()
    assert listed(member, "seeders") == held_order(member, "seeders") \
        == [some.pk, most.pk, few.pk, unseen.pk]
    assert listed(member, "snatches") == held_order(member, "snatches")
    assert listed(member, "snatches")[0] == some.pk


def test_the_copies_follow_every_writer_of_the_statistics(member):
    a, b = make_torrent(name="Alpha"), make_torrent(name="Bravo")
    TorrentStatistics.objects.create(torrent=a, seeders=5, leechers=1, snatches=9)
    TorrentStatistics.objects.create(torrent=b, seeders=2, leechers=0, snatches=3)
    assert_copies_agree()
    assert listed(member, "seeders") == [a.pk, b.pk]

    # A plain update (admin, a repair) and a bulk one.
    TorrentStatistics.objects.filter(torrent=b).update(seeders=7)
    assert_copies_agree()
    assert listed(member, "seeders") == held_order(member, "seeders") == [b.pk, a.pk]

    # A stale instance of the torrent saved (an edit) does not put old counts back.
    stale = Torrent.objects.get(pk=b.pk)
    TorrentStatistics.objects.filter(torrent=b).update(seeders=1)
    stale.name = "Bravo.Edited"
    stale.save()
    assert_copies_agree()
    assert listed(member, "seeders") == [a.pk, b.pk]

    # The housekeeping recount sets seeders and leechers from the live peers (none here).
    assert Peer.objects.count() == 0
    statistics_recompute()
    assert_copies_agree()
    assert copies()[a.pk][:3] == (0, 0, 9)
    assert listed(member, "snatches") == held_order(member, "snatches") == [a.pk, b.pk]

    # No statistics row left: NULL, listed last, as the join's NULLS LAST did.
    TorrentStatistics.objects.filter(torrent=a).delete()
    assert copies()[a.pk] == (None,) * 6
    assert listed(member, "snatches") == held_order(member, "snatches") == [b.pk, a.pk]
    assert listed(member, "snatches", "asc") == [b.pk, a.pk]


def test_a_tag_filter_sorted_by_seeders(member):
    """A tag filter makes the list DISTINCT: the order by a copy still applies."""
    from domain.catalog.models import TorrentTag, TorrentTagAssignment

    tag = TorrentTag.objects.create(name="remux")
    rows = [make_torrent(name=f"Tagged.{i}") for i in range(3)]
    for i, t in enumerate(rows):
        TorrentStatistics.objects.create(torrent=t, seeders=(i * 2) % 3)
        TorrentTagAssignment.objects.create(torrent=t, tag=tag)
    got = [t.pk for t in torrents_search(user=member, filters=BrowseFilters(
        sort="seeders", tags=("remux",)), limit=10).items]
    assert got == held_order(member, "seeders")
