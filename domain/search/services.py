"""Writes for search: the queue every indexed change goes through."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.db import connection, transaction

from domain.base import TargetType
from domain.search.models import IndexOperation

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

    def _nudge() -> None:
        from domain.search.tasks import search_queue_drain

        try:
            # SEARCH_QUEUE_TASK_QUEUE (optional) routes the nudge, e.g. to a test worker.
            queue = getattr(settings, "SEARCH_QUEUE_TASK_QUEUE", None) or None
            search_queue_drain.apply_async(queue=queue)
        except Exception:
            # The beat entry drains the queue anyway; a broker hiccup only delays it.
            log.warning("could not queue search_queue_drain", exc_info=True)

    transaction.on_commit(_nudge)
