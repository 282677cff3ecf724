"""search_index_queue: enqueueing, draining with retry and backoff, purging, both backends.

Meilisearch is tested against a local HTTP double of its documented API (meili_double.py),
because no Meilisearch server installs here; the real `meilisearch` client talks to it."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from domain.catalog.models import TorrentCategory
from domain.catalog.selectors import BrowseFilters, torrents_browse
from domain.catalog.services import torrent_delete, torrent_upload
from domain.search.backends import FILTERABLE, SORTABLE
from domain.search.models import SearchIndexQueueItem
from domain.search.services import search_enqueue
from domain.search.tasks import search_queue_drain_batch, search_queue_purge_completed
from server.celery import app
from tests.domain.catalog.factories import libtorrent_make
from tests.domain.search.meili_double import MeiliDouble
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


def test_a_target_has_one_pending_row_and_the_latest_operation_wins():
    target = uuid.uuid4()
    search_enqueue(target_type="torrent", target_id=target)
    search_enqueue(target_type="torrent", target_id=target, operation="delete")

    (row,) = SearchIndexQueueItem.objects.filter(target_id=target)
    assert (row.status, row.operation) == ("pending", "delete")


def test_postgres_backend_drain_completes_rows(uploader):
    torrent = make_torrent(uploader=uploader)
    search_enqueue(target_type="torrent", target_id=torrent.pk)

    assert search_queue_drain_batch() == 1

    row = SearchIndexQueueItem.objects.get(target_id=torrent.pk)
    assert row.status == "completed" and row.processed_at is not None
    assert search_queue_drain_batch() == 0


def test_postgres_search_finds_words_and_typos(member, uploader):
    wanted = make_torrent(uploader=uploader, name="Big.Buck.Bunny.2008.1080p.BluRay-GRP")
    make_torrent(uploader=uploader, name="Sintel.2010.720p.WEB-DL")

    for q in ["buck bunny", "Big Buck Buny 2008", "bluray"]:
        page = torrents_browse(user=member, filters=BrowseFilters(q=q, sort="relevance"))
        assert [t.pk for t in page.object_list] == [wanted.pk], q


def test_postgres_search_ranks_the_exact_title_first_and_lets_typos_in_only_when_few_match(
        member, uploader):
    """Full text first; the trigram match for typos joins only when full text finds few."""
    exact = make_torrent(uploader=uploader, name="Night.Of.The.Comet.1984.1080p.BluRay-GRP")
    near = make_torrent(uploader=uploader, name="Night.Of.The.Comets.Return.2001.720p")
    make_torrent(uploader=uploader, name="Sintel.2010.720p.WEB-DL")

    def found(q: str) -> list[str]:
        page = torrents_browse(user=member, filters=BrowseFilters(q=q, sort="relevance"))
        return [t.name for t in page.object_list]

    # One whole-word match: the typo-tolerant match adds the near name, ranked below it.
    assert found("night of the comet 1984") == [exact.name, near.name]
    # Typos in the title: full text finds nothing, the trigram match finds the title.
    assert found("Nigth of the Commet") == [exact.name]
    assert found("Sintle 2010") == ["Sintel.2010.720p.WEB-DL"]
    assert found("Completely Different Words") == []
    # Ten whole-word matches: the typo-tolerant match stays out (the near name's "Comets").
    many = [make_torrent(uploader=uploader, name=f"Comet.{i}.2020.1080p").name
            for i in range(10)]
    assert sorted(found("comet")) == sorted([exact.name, *many])


def test_meilisearch_gets_settings_documents_and_deletes(uploader, member, settings):
    with MeiliDouble() as meili:
        settings.MEILISEARCH_URL = meili.url
        category = TorrentCategory.objects.get(slug="movies-hd").pk
        torrent = torrent_upload(uploader=uploader, data=libtorrent_make("v1"),
                                 category_id=category, title="Arrival.2016.2160p",
                                 tags=["science.fiction"])

        assert search_queue_drain_batch() == 1

        assert meili.settings["filterableAttributes"] == FILTERABLE
        assert meili.settings["sortableAttributes"] == SORTABLE
        doc = meili.documents[str(torrent.pk)]
        assert (doc["name"], doc["tags"], doc["uploader"], doc["category"]) == (
            "Arrival.2016.2160p", ["science.fiction"], uploader.username, "movies-hd")
        page = torrents_browse(user=member, filters=BrowseFilters(q="arrival"))
        assert [t.pk for t in page.object_list] == [torrent.pk]

        torrent_delete(actor=uploader, torrent_id=torrent.pk, reason="wrong file")
        assert search_queue_drain_batch() == 1
        assert meili.documents == {}
        assert ("POST", "/indexes/torrents/documents/delete-batch") in meili.paths()


def test_meilisearch_skips_pending_and_hides_paranoid_uploaders(settings):
    from domain.accounts.models import UserPrivacy

    member, shy = make_user("member"), make_user("uploader")
    UserPrivacy.objects.update_or_create(user=shy, defaults={"show_uploads": False})
    pending = make_torrent(uploader=member, status="pending")
    hidden = make_torrent(uploader=shy)
    anonymous = make_torrent(uploader=member, is_anonymous=True)
    with MeiliDouble() as meili:
        settings.MEILISEARCH_URL = meili.url
        for t in (pending, hidden, anonymous):
            search_enqueue(target_type="torrent", target_id=t.pk)

        assert search_queue_drain_batch() == 3

        assert set(meili.documents) == {str(hidden.pk), str(anonymous.pk)}
        assert meili.documents[str(hidden.pk)]["uploader"] is None
        assert meili.documents[str(anonymous.pk)]["uploader"] is None


def test_backend_failure_backs_off_exponentially_then_gives_up(uploader, settings):
    settings.SEARCH_QUEUE_BACKOFF_SECONDS = 10
    settings.SEARCH_QUEUE_MAX_ATTEMPTS = 3
    torrent = make_torrent(uploader=uploader)
    with MeiliDouble() as meili:
        settings.MEILISEARCH_URL = meili.url
        meili.fail = True
        search_enqueue(target_type="torrent", target_id=torrent.pk)
        row = SearchIndexQueueItem.objects.get(target_id=torrent.pk)

        delays = []
        for _ in range(3):
            before = timezone.now()
            SearchIndexQueueItem.objects.filter(pk=row.pk).update(next_attempt_at=before)
            assert search_queue_drain_batch() == 0
            row.refresh_from_db()
            delays.append(round((row.next_attempt_at - before).total_seconds()))
        assert row.attempts == 3 and row.status == "failed"
        assert "unavailable" in row.last_error
        assert delays[:2] == [10, 20]

        # Not yet due: left alone.
        search_enqueue(target_type="torrent", target_id=torrent.pk)
        SearchIndexQueueItem.objects.filter(status="pending").update(
            next_attempt_at=timezone.now() + timedelta(minutes=5))
        meili.fail = False
        assert search_queue_drain_batch() == 0
        assert str(torrent.pk) not in meili.documents


def test_purge_removes_only_old_completed_rows():
    old, recent, pending = (uuid.uuid4() for _ in range(3))
    now = timezone.now()
    SearchIndexQueueItem.objects.bulk_create([
        SearchIndexQueueItem(target_type="torrent", target_id=old, status="completed",
                             processed_at=now - timedelta(days=10)),
        SearchIndexQueueItem(target_type="torrent", target_id=recent, status="completed",
                             processed_at=now - timedelta(days=1)),
        SearchIndexQueueItem(target_type="torrent", target_id=pending),
    ])

    assert search_queue_purge_completed(keep_days=7) == 1

    assert set(SearchIndexQueueItem.objects.values_list("target_id", flat=True)) == {
        recent, pending}


def test_beat_lists_the_drain_and_the_purge(settings):
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert schedule["search-queue-drain"]["task"] == "search.queue_drain"
    assert schedule["search-queue-drain"]["schedule"] == float(
        settings.SEARCH_QUEUE_DRAIN_SECONDS)
    assert schedule["search-queue-purge"]["task"] == "search.queue_purge"
    assert {"search.queue_drain", "search.queue_purge"} <= set(app.tasks)


@pytest.mark.django_db(transaction=True)
def test_an_upload_is_indexed_by_a_real_worker_after_commit(settings):
    queue = f"test-{uuid.uuid4().hex}"
    settings.SEARCH_QUEUE_TASK_QUEUE = queue
    uploader = make_user("uploader")
    with MeiliDouble() as meili:
        settings.MEILISEARCH_URL = meili.url
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue],
                          shutdown_timeout=10):
            torrent = torrent_upload(
                uploader=uploader, data=libtorrent_make("hybrid"),
                category_id=TorrentCategory.objects.get(slug="movies-hd").pk)
            deadline = timezone.now() + timedelta(seconds=30)
            while str(torrent.pk) not in meili.documents and timezone.now() < deadline:
                time.sleep(0.1)
        assert str(torrent.pk) in meili.documents
    assert SearchIndexQueueItem.objects.get(target_id=torrent.pk).status == "completed"


def test_search_reindex_fills_an_empty_meilisearch_index_from_rows_written_around_the_queue(
        settings, capsys):
    from django.core.management import call_command

    uploader = make_user("uploader")
    shown = make_torrent(uploader=uploader, name="Koyaanisqatsi.1982.1080p")
    pending = make_torrent(uploader=uploader, status="pending")
    SearchIndexQueueItem.objects.all().delete()  # as if written around the services
    with MeiliDouble() as meili:
        settings.MEILISEARCH_URL = meili.url
        call_command("search_reindex")

        assert set(meili.documents) == {str(shown.pk)}
        assert meili.documents[str(shown.pk)]["name"] == "Koyaanisqatsi.1982.1080p"
        assert ("POST", "/indexes/torrents/documents/delete-batch") in meili.paths()
    assert not SearchIndexQueueItem.objects.filter(status="pending").exists()
    assert SearchIndexQueueItem.objects.filter(target_id=pending.pk,
                                               status="completed").exists()
    assert "indexed 2 rows in meilisearch" in capsys.readouterr().out


def test_search_reindex_on_postgres_completes_the_queue(capsys):
    from django.core.management import call_command

    torrent = make_torrent(uploader=make_user("uploader"))
    SearchIndexQueueItem.objects.all().delete()
    call_command("search_reindex")

    row = SearchIndexQueueItem.objects.get(target_id=torrent.pk)
    assert row.status == "completed"
    assert "indexed 1 rows in postgres" in capsys.readouterr().out
