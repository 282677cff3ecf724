"""Requests and collections through the search layer: PostgreSQL full text by default; the
Meilisearch adapter (against the local double of its API) gets their documents through the
queue, in indexes of their own; with sort=relevance, Meilisearch's order is kept (for
torrents too)."""

from __future__ import annotations

import pytest

from domain.catalog.collection_selectors import CollectionFilters, collections_browse
from domain.catalog.collections import collection_create, collection_delete
from domain.catalog.models import TorrentCategory
from domain.catalog.request_selectors import RequestFilters, requests_browse
from domain.catalog.requests import request_create, request_delete
from domain.catalog.selectors import BrowseFilters, torrents_browse
from domain.search.models import SearchIndexQueueItem
from domain.search.tasks import search_queue_drain_batch
from tests.domain.bonus.factories import fund
from tests.domain.search.meili_double import MeiliDouble
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def minimum(settings):
    settings.REQUEST_MIN_BOUNTY = "100"


def file_request(user, title: str):
    fund(user, 100)
    return request_create(requester=user, category_id=TorrentCategory.objects.get(
        slug="movies-hd").pk, title=title, bounty="100")


def test_postgres_full_text_finds_requests_by_words(member):
    alien = file_request(member, "Alien (1979) Director's Cut Remux")
    file_request(member, "Blade Runner 1982")

    def titles(q: str) -> list[str]:
        return [r.title for r in requests_browse(user=member, filters=RequestFilters(
            q=q)).object_list]

    assert titles("alien remux") == [alien.title]
    assert titles("cut director's") == [alien.title]
    assert titles("runn") == ["Blade Runner 1982"]  # a word part, by the trigram index
    assert titles('"blade runner" -alien') == ["Blade Runner 1982"]
    assert titles("nothing here") == []
    # Writes queue the rows for the search backend.
    assert SearchIndexQueueItem.objects.filter(target_type="request").count() == 2


def test_meilisearch_indexes_requests_and_collections_through_the_queue(member, moderator,
                                                                       settings):
    with MeiliDouble() as meili:
        settings.MEILISEARCH_URL = meili.url
        long_one = file_request(member, "Alien Resurrection 1997 Special Edition")
        short_one = file_request(member, "Alien 1979")
        owner = make_user("power_user")
        coll = collection_create(owner=owner, name="Alien films", description="All four")
        hidden = collection_create(owner=owner, name="Alien secrets", is_public=False)

        assert search_queue_drain_batch() == 4

        requests_index = meili.indexes["torrents_requests"]
        assert set(requests_index) == {str(long_one.pk), str(short_one.pk)}
        assert requests_index[str(short_one.pk)]["bounty"] == 100.0
        assert set(meili.indexes["torrents_collections"]) == {str(coll.pk)}  # not private
        assert meili.documents == {}  # the torrents index holds torrents only
        relevance = requests_browse(user=member, filters=RequestFilters(
            q="alien", sort="relevance"))
        # The double ranks the shorter title first; the newest-first default would not.
        assert [r.pk for r in relevance.object_list] == [short_one.pk, long_one.pk]
        by_age = requests_browse(user=member, filters=RequestFilters(q="alien",
                                                                     order="asc"))
        assert [r.pk for r in by_age.object_list] == [long_one.pk, short_one.pk]
        found = collections_browse(user=member, filters=CollectionFilters(q="alien"))
        assert [c.pk for c in found.object_list] == [coll.pk]
        assert hidden.pk

        request_delete(actor=moderator, request_id=long_one.pk, reason="dupe")
        collection_delete(actor=owner, collection_id=coll.pk, reason="done")
        assert search_queue_drain_batch() == 2
        assert set(meili.indexes["torrents_requests"]) == {str(short_one.pk)}
        assert str(coll.pk) not in meili.indexes["torrents_collections"]


def test_meilisearch_relevance_order_is_kept_for_torrents(member, settings):
    from domain.search.services import search_enqueue

    with MeiliDouble() as meili:
        settings.MEILISEARCH_URL = meili.url
        older_short = make_torrent(name="Dune.1984")
        newer_long = make_torrent(name="Dune.Part.Two.2024.2160p.WEB-DL")
        for t in (older_short, newer_long):
            search_enqueue(target_type="torrent", target_id=t.pk)
        assert search_queue_drain_batch() == 2

        ranked = torrents_browse(user=member, filters=BrowseFilters(q="dune",
                                                                    sort="relevance"))
        newest = torrents_browse(user=member, filters=BrowseFilters(q="dune", sort="time"))

    assert [t.pk for t in ranked.object_list] == [older_short.pk, newer_long.pk]
    assert [t.pk for t in newest.object_list] == [newer_long.pk, older_short.pk]
