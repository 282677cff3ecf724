"""The fast paths of the shared torrent listing (issue 16's speed goal) give exactly the
rows of the plain rule: "approved, or my own" read as "approved" when the member has no
live upload that is not approved; the time and size orders without NULLS LAST; and the
API totals counted up to a cap, then reported as "at least"."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from defusedxml import ElementTree
from django.test import Client
from django.utils import timezone

from domain.catalog.models import Torrent
from domain.catalog.selectors import (
    BrowseFilters,
    tag_names,
    torrents_search,
    torrents_visible,
)
from tests.factories import make_user
from tests.frontend.api.conftest import bulk_torrents, key_for, listed

pytestmark = pytest.mark.django_db


def expected(user: Any, *, sort: str = "-created_at") -> list[Any]:
    """The plain rule, spelled out: torrents_visible in the listing's order."""
    return list(torrents_visible(user).order_by(sort, "-id").values_list("pk", flat=True))


def found(user: Any, **filters: Any) -> list[Any]:
    return [t.pk for t in torrents_search(user=user, filters=BrowseFilters(**filters),
                                          limit=1000).items]


def torznab(response: Any) -> tuple[list[str], str]:
    """A Torznab answer's item titles and its newznab:response total."""
    root = ElementTree.parse(io.BytesIO(response.content)).getroot()
    answer = root.find("./channel/{http://www.newznab.com/DTD/2010/feeds/attributes/}response")
    assert answer is not None, response.content
    return [i.findtext("title") or "" for i in root.findall("./channel/item")], \
        str(answer.get("total"))


def test_the_same_rows_with_and_without_own_unapproved_uploads(moderator):
    member, uploader = make_user("member"), make_user("member")
    listed(name="Public.One", uploader=uploader)
    listed(name="Public.Two")
    now = timezone.now()
    # Same created_at: the id breaks the tie in both orders.
    tied = [listed(name=f"Tied.{i}") for i in range(3)]
    Torrent.objects.filter(pk__in=[t.pk for t in tied]).update(created_at=now)
    listed(name="Deleted.One", deleted_at=now)
    others_pending = listed(name="Someone.Elses.Pending", status="pending")

    # No upload of their own that is not approved: the approved-only path.
    assert found(member) == expected(member) and len(found(member)) == 5
    assert found(member, sort="size", order="asc") == list(
        torrents_visible(member).order_by("size", "-id").values_list("pk", flat=True))

    # Their own pending and rejected uploads: visible to them (the OR path), to no one else.
    mine_pending = listed(name="Mine.Pending", uploader=member, status="pending")
    mine_rejected = listed(name="Mine.Rejected", uploader=member, status="rejected")
    assert found(member) == expected(member)
    assert {mine_pending.pk, mine_rejected.pk} <= set(found(member))
    assert others_pending.pk not in found(member)
    assert not {mine_pending.pk, mine_rejected.pk} & set(found(uploader))
    # A deleted unapproved upload does not count: back on the fast path, same rows.
    Torrent.objects.filter(pk__in=[mine_pending.pk, mine_rejected.pk]).update(deleted_at=now)
    assert found(member) == expected(member) and len(found(member)) == 5
    # Moderators see every live row, pending ones included.
    assert found(moderator) == expected(moderator) and others_pending.pk in found(moderator)


def test_every_order_keeps_its_rows_and_ties(member):
    rows = [listed(name=f"Row.{i}", seeders=i % 3, snatches=i, size=1_000_000 + i % 2)
            for i in range(8)]
    Torrent.objects.filter(pk=rows[0].pk).update(created_at=timezone.now() - timedelta(days=1))
    for sort, field in (("time", "created_at"), ("size", "size"),
                        ("seeders", "statistics__seeders"),
                        ("snatches", "statistics__snatches")):
        for order in ("desc", "asc"):
            got = found(member, sort=sort, order=order)
            ordering = f"-{field}" if order == "desc" else field
            assert got == list(torrents_visible(member).order_by(ordering, "-id")
                               .values_list("pk", flat=True)), (sort, order)


def test_totals_stop_at_the_cap_and_say_so(monkeypatch, searcher):
    import frontend.api.unit3d
    import frontend.api.v1

    _, key = searcher
    bulk_torrents(30)
    monkeypatch.setattr(frontend.api.v1, "TOTAL_MAX", 10)
    monkeypatch.setattr(frontend.api.unit3d, "TOTAL_MAX", 10)
    client = Client(headers={"Authorization": f"Bearer {key}"})
    first = client.get("/api/v1/torrents", {"per_page": 5}).json()
    assert (first["total"], first["total_exact"], len(first["results"])) == (10, False, 5)
    deep = client.get("/api/v1/torrents", {"per_page": 5, "page": 5}).json()
    assert (deep["total"], deep["total_exact"], len(deep["results"])) == (25, False, 5)
    # Every page still comes, and the rows are the uncapped ones.
    pages = [r["id"] for page in range(1, 7)
             for r in client.get("/api/v1/torrents", {"per_page": 5, "page": page})
             .json()["results"]]
    assert len(pages) == len(set(pages)) == 30
    assert client.get("/api/v1/torrents", {"per_page": 5, "page": 7}).json()["results"] == []
    # Under the cap the total is exact.
    listed(name="Film.One"), listed(name="Film.Two")
    narrow = client.get("/api/v1/torrents", {"category": "movies-hd", "per_page": "1"}).json()
    assert (narrow["total"], narrow["total_exact"]) == (2, True)
    monkeypatch.setattr(frontend.api.v1, "TOTAL_MAX", 1000)
    exact = client.get("/api/v1/torrents", {"per_page": 5}).json()
    assert (exact["total"], exact["total_exact"]) == (32, True)

    capped = client.get("/api/torrents/filter", {"perPage": 5}).json()
    assert capped["meta"]["total"] == 10 and capped["meta"]["total_exact"] is False
    assert capped["links"]["last"] is None and capped["links"]["next"].endswith("page=2")
    last_full = client.get("/api/torrents/filter", {"perPage": 5, "page": 6}).json()
    assert len(last_full["data"]) == 5 and last_full["links"]["next"] is not None
    end = client.get("/api/torrents/filter", {"perPage": 5, "page": 7}).json()
    assert len(end["data"]) == 2 and end["links"]["next"] is None


def test_the_listing_answers_in_a_fixed_number_of_queries(searcher,
                                                          django_assert_max_num_queries):
    user, _ = searcher
    bulk_torrents(40)
    client = Client(headers={"Authorization": f"Bearer {key_for(user, name='q')}"})
    client.get("/api/v1/torrents")  # warm the caches a running site has warm
    with django_assert_max_num_queries(9):
        assert len(client.get("/api/v1/torrents", {"per_page": 30}).json()["results"]) == 30


def test_the_status_filter_is_the_browse_pages_moderators_only(moderator, member):
    listed(name="Live.One")
    pending = listed(name="Waiting.One", status="pending")

    def names(user: Any, **params: str) -> list[str]:
        client = Client(headers={"Authorization": f"Bearer {key_for(user, name=str(params))}"})
        response = client.get("/api/v1/torrents", params)
        assert response.status_code == 200, response.content
        return [r["name"] for r in response.json()["results"]]

    assert names(moderator, status="pending") == [pending.name]
    assert names(moderator, status="approved") == ["Live.One"]
    assert names(member, status="pending") == ["Live.One"]  # ignored, as on the page
    bad = Client(headers={"Authorization": f"Bearer {key_for(member, name='bad')}"}).get(
        "/api/v1/torrents", {"status": "deleted"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "status"


def test_a_text_search_pages_in_the_lists_order_with_its_ties_and_total(member, uploader):
    """A text search's page is its ids first, then those rows: across page boundaries
    the rows, their order (created_at ties broken by id, as the listing does), each
    row's uploader visibility and tags, and the total are the list's."""
    from domain.accounts.models import UserPrivacy
    from domain.catalog.models import TorrentTag, TorrentTagAssignment

    hidden = make_user("member")
    UserPrivacy.objects.filter(user=hidden).update(show_uploads=False)
    now = timezone.now()
    matches = []
    for i in range(14):
        who = (uploader, hidden, None)[i % 3]
        t = listed(name=f"Comet.River.{i}.1080p", uploader=who, is_anonymous=i % 5 == 0,
                   seeders=i % 4, size=1_000_000 + i % 3)
        matches.append(t)
        # Groups of three share a created_at: only the id orders them.
        Torrent.objects.filter(pk=t.pk).update(created_at=now - timedelta(hours=i // 3))
    for i in range(5):
        listed(name=f"Other.Film.{i}")
    listed(name="Comet.River.Pending", status="pending")
    # A typo match only (no whole word of the query): listed only if full text found
    # fewer than ten rows, which it did not.
    near = listed(name="Comets.Riverside")
    remux = TorrentTag.objects.create(name="remux")
    for t in matches[::2]:
        TorrentTagAssignment.objects.create(torrent=t, tag=remux, score=1)
    client = Client(headers={"Authorization": f"Bearer {key_for(member)}"})
    shown = {t.pk: t.uploader == uploader and not t.is_anonymous for t in matches}

    def plain(ordering: str, rows: list[Any] = matches) -> list[Any]:
        return list(Torrent.objects.filter(pk__in=[t.pk for t in rows])
                    .order_by(ordering, "-id").values_list("pk", flat=True))

    for filters, ordering, rows in (
            ({}, "-created_at", matches),
            ({"order": "asc"}, "created_at", matches),
            ({"sort": "size"}, "-size", matches),
            ({"sort": "seeders"}, "-statistics__seeders", matches),
            ({"tags": ("remux",)}, "-created_at", matches[::2]),
            # The same rank for each of these names: created_at, then the id.
            ({"sort": "relevance"}, "-created_at", matches),
            ({"sort": "relevance", "tags": ("remux",)}, "-created_at", matches[::2])):
        want = plain(ordering, rows)
        # Counted to the end, up to a cap past the list, and up to a cap within it (the
        # API's TOTAL_MAX): pages inside the cap come from its first ids, others not.
        for limit, cap in ((5, None), (4, None), (5, 1000), (4, 1000), (4, 12)):
            pages = [torrents_search(user=member, limit=limit, offset=offset, count_limit=cap,
                                     filters=BrowseFilters(q="comet river", **filters))
                     for offset in range(0, 20, limit)]
            assert [t.pk for page in pages for t in page.items] == want, (filters, limit)
            if cap is None or cap > len(want):
                assert {(p.total, p.exact) for p in pages} == {(len(want), True)}
            else:
                # At least the cap, or as far as the page reaches.
                assert [(p.total, p.exact) for p in pages] == [
                    (max(cap, p.offset + len(p.items)), False) for p in pages]
            for t in (t for page in pages for t in page.items):
                assert getattr(t, "uploader_visible", None) == shown[t.pk]
                assert tag_names(t) == (["remux"] if t in matches[::2] else [])
    assert near.pk in {t.pk for t in torrents_search(
        user=member, filters=BrowseFilters(q="comet rivr")).items}
    # Through the API: pages of v1 and Torznab, and their totals.
    v1 = [client.get("/api/v1/torrents", {"q": "comet river", "per_page": 5, "page": page})
          .json() for page in (1, 2, 3)]
    assert [r["id"] for body in v1 for r in body["results"]] == [str(pk) for pk in plain(
        "-created_at")]
    assert {(body["total"], body["total_exact"]) for body in v1} == {(14, True)}
    assert [r["uploader"] is not None for r in v1[0]["results"]] == [
        shown[pk] for pk in plain("-created_at")[:5]]
    feeds = [torznab(client.get("/api/torznab", {"t": "search", "q": "comet river",
                                                 "limit": 6, "offset": offset}))
             for offset in (0, 6, 12)]
    names = {t.pk: t.name for t in matches}
    assert [title for titles, _ in feeds for title in titles] == [
        names[pk] for pk in plain("-created_at")]
    assert {total for _, total in feeds} == {"14"}


def test_a_text_search_with_few_or_no_whole_word_matches_pages_as_one_list(member):
    """Full text finding fewer than ten rows adds the typo matches: decided the same on
    every page (a short page, a page past the end, a page smaller than ten)."""
    for i in range(6):
        listed(name=f"Nebula.Drift.{i}")
    for i in range(6):
        listed(name=f"Nebulae.Drifter.{i}")
    listed(name="Unrelated.Thing")

    def pages(q: str, limit: int, upto: int, cap: int | None) -> list[Any]:
        return [t.pk for offset in range(0, upto, limit)
                for t in torrents_search(user=member, offset=offset, limit=limit,
                                         count_limit=cap, filters=BrowseFilters(q=q)).items]

    for q in ("nebula drift", "nebulaa drift"):
        whole = torrents_search(user=member, limit=100, filters=BrowseFilters(q=q))
        # Both spellings add the trigram matches: 6 whole-word ones (or none) are too few.
        assert len(whole.items) > 6 and whole.total == len(whole.items), q
        want = [t.pk for t in whole.items]
        for limit in (3, 5, 7):
            for cap in (None, 1000, 8, 4):  # 4: fewer ids than the fallback's ten
                assert pages(q, limit, 30, cap) == want, (q, limit, cap)
        for cap in (None, 1000):
            past = torrents_search(user=member, offset=40, limit=5, count_limit=cap,
                                   filters=BrowseFilters(q=q))
            assert past.items == [] and past.offset == 40
            capped = torrents_search(user=member, limit=3, count_limit=4,
                                     filters=BrowseFilters(q=q))
            assert [t.pk for t in capped.items] == want[:3]
            assert (capped.total, capped.exact) == (4, False)

