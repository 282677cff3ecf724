"""Celery tasks that drain search_index_queue into the configured backend.

Retry happens per queue row: a batch the backend refuses stays pending with attempts + 1
and next_attempt_at pushed out exponentially (SEARCH_QUEUE_BACKOFF_SECONDS * 2**(n-1)),
until SEARCH_QUEUE_MAX_ATTEMPTS marks it failed for staff to look at. The task itself also
retries with backoff when the database is unreachable.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from domain.base import TargetType
from domain.search.backends import SearchBackend, SearchBackendError, search_backend
from domain.search.documents import documents_build
from domain.search.models import IndexOperation, IndexStatus, SearchIndexQueueItem

KINDS = {TargetType.TORRENT: "torrent", TargetType.REQUEST: "request",
         TargetType.COLLECTION: "collection"}


def search_queue_drain_batch(*, backend: SearchBackend | None = None,
                             batch: int | None = None) -> int:
    """Index one batch of due rows (torrents, requests, collections); return how many rows
    were completed."""
    backend = backend or search_backend()
    now = timezone.now()
    with transaction.atomic():
        # SKIP LOCKED: two workers draining at once take different rows.
        rows = list(
            SearchIndexQueueItem.objects.select_for_update(skip_locked=True)
            .filter(status=IndexStatus.PENDING, next_attempt_at__lte=now,
                    target_type__in=list(KINDS))
            .order_by("-priority", "next_attempt_at")[: batch or settings.SEARCH_QUEUE_BATCH])
        if not rows:
            return 0
        try:
            for target_type, kind in KINDS.items():
                of_kind = [r for r in rows if r.target_type == target_type]
                if not of_kind:
                    continue
                documents = documents_build(kind, [r.target_id for r in of_kind
                                              if r.operation == IndexOperation.UPSERT])
                indexable = {d["id"] for d in documents}
                # An upsert of a row that may not be found (a pending torrent, a deleted
                # request or collection, a private collection) removes it instead.
                backend.upsert(documents, kind=kind)
                backend.delete([str(r.target_id) for r in of_kind
                                if str(r.target_id) not in indexable], kind=kind)
        except SearchBackendError as exc:
            for row in rows:
                row.attempts += 1
                row.last_error = str(exc)[:2000]
                if row.attempts >= settings.SEARCH_QUEUE_MAX_ATTEMPTS:
                    row.status = IndexStatus.FAILED
                else:
                    delay = settings.SEARCH_QUEUE_BACKOFF_SECONDS * 2 ** (row.attempts - 1)
                    row.next_attempt_at = now + timedelta(seconds=delay)
            SearchIndexQueueItem.objects.bulk_update(
                rows, ["attempts", "last_error", "status", "next_attempt_at"])
            return 0
        for row in rows:
            row.status = IndexStatus.COMPLETED
            row.processed_at = now
        SearchIndexQueueItem.objects.bulk_update(rows, ["status", "processed_at"])
        return len(rows)


@shared_task(name="search.queue_drain", autoretry_for=(OperationalError,), retry_backoff=True,
             retry_backoff_max=600, max_retries=6)
def search_queue_drain(max_batches: int = 20) -> int:
    done = 0
    for _ in range(max_batches):
        n = search_queue_drain_batch()
        if n == 0:
            break
        done += n
    return done


def search_queue_purge_completed(*, keep_days: int | None = None) -> int:
    keep = settings.SEARCH_QUEUE_KEEP_DAYS if keep_days is None else keep_days
    cutoff = timezone.now() - timedelta(days=keep)
    deleted, _ = SearchIndexQueueItem.objects.filter(
        status=IndexStatus.COMPLETED, processed_at__lt=cutoff).delete()
    return deleted


@shared_task(name="search.queue_purge")
def search_queue_purge() -> int:
    return search_queue_purge_completed()
