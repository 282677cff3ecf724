"""The fast paths of the shared torrent listing (issue 16's speed goal) give exactly the
rows of the plain rule: "approved, or my own" read as "approved" when the member has no
live upload that is not approved; the time and size orders without NULLS LAST; and the
API totals counted up to a cap, then reported as "at least"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from domain.catalog.models import Torrent
from domain.catalog.selectors import BrowseFilters, torrents_search, torrents_visible
from tests.factories import make_user
from tests.frontend.api.conftest import bulk_torrents, key_for, listed

pytestmark = pytest.mark.django_db


def expected(user: Any, *, sort: str = "-created_at") -> list[Any]:
    """The plain rule, spelled out: torrents_visible in the listing's order."""
    return list(torrents_visible(user).order_by(sort, "-id").values_list("pk", flat=True))


def found(user: Any, **filters: Any) -> list[Any]:
    return [t.pk for t in torrents_search(user=user, filters=BrowseFilters(**filters),
                                          limit=1000).items]


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
