"""Writes for search: the queue every indexed change goes through."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.db import connection, transaction

from domain.base import TargetType
from domain.search.models import IndexOperation
from domain.search.tasks import search_queue_drain

log = logging.getLogger(__name__)


def search_enqueue(*, target_type: TargetType | str, target_id: uuid.UUID,
                   operation: IndexOperation | str = IndexOperation.UPSERT) -> None:
    """Queue `target` for (re)indexing or removal, and nudge the drain task after commit.

    Raw SQL because the ORM cannot name the partial unique index
    (search_queue_one_pending_per_target) in ON CONFLICT: a target that already has a
    pending row gets that row updated (latest operation wins, due now) instead of a
    second row, so a burst of edits costs one indexing."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO search_index_queue (id, target_type, target_id, operation, status,"
            " priority, attempts, last_error, next_attempt_at, created_at)"
            " VALUES (%s, %s, %s, %s, 'pending', 0, 0, '', now(), now())"
            " ON CONFLICT (target_type, target_id) WHERE status = 'pending'"
            " DO UPDATE SET operation = EXCLUDED.operation, next_attempt_at = now(),"
            " attempts = 0, last_error = ''",
            [uuid.uuid4(), str(target_type), target_id, str(operation)],
        )

    transaction.on_commit(_nudge)


def _nudge() -> None:
    try:
        # SEARCH_QUEUE_TASK_QUEUE (optional) routes the nudge, e.g. to a test worker.
        queue = getattr(settings, "SEARCH_QUEUE_TASK_QUEUE", None) or None
        search_queue_drain.apply_async(queue=queue)
    except Exception:
        # The beat entry drains the queue anyway; a broker hiccup only delays it.
        log.warning("could not queue search_queue_drain", exc_info=True)


def search_enqueue_all() -> dict[str, int]:
    """Queue every torrent, request and collection for (re)indexing, as search_enqueue
    would one by one, and nudge the drain after commit; returns how many rows of each.
    For a new or emptied backend, and for rows written around the services (seed_demo).

    Raw SQL for the same reason as search_enqueue (ON CONFLICT on the partial index), as
    one INSERT ... SELECT rather than a round trip per row; the catalog's tables are named
    here, not its models, so this area imports nothing back from the catalog. Rows that
    may not be shown (pending, deleted, private) are queued too: the drain removes them."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO search_index_queue (id, target_type, target_id, operation, status,"
            " priority, attempts, last_error, next_attempt_at, created_at)"
            " SELECT gen_random_uuid(), t.kind, t.id, 'upsert', 'pending', 0, 0, '', now(),"
            " now() FROM (SELECT 'torrent' AS kind, id FROM torrents"
            " UNION ALL SELECT 'request', id FROM torrent_requests"
            " UNION ALL SELECT 'collection', id FROM torrent_collections) t"
            " ON CONFLICT (target_type, target_id) WHERE status = 'pending'"
            " DO UPDATE SET operation = EXCLUDED.operation, next_attempt_at = now(),"
            " attempts = 0, last_error = ''"
            " RETURNING target_type")
        kinds = [row[0] for row in cursor.fetchall()]
        if kinds:
            transaction.on_commit(_nudge)
    return {kind: kinds.count(kind) for kind in (TargetType.TORRENT.value,
                                                 TargetType.REQUEST.value,
                                                 TargetType.COLLECTION.value)}
