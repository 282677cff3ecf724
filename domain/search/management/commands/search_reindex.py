"""manage.py search_reindex: queue every torrent, request and collection for the search
backend and drain the queue here (the same path as Celery's search.queue_drain), so a new
or emptied Meilisearch index, or rows written around the services, can be found again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from domain.search.backends import search_backend
from domain.search.models import IndexStatus, SearchIndexQueueItem
from domain.search.services import search_enqueue_all
from domain.search.tasks import search_queue_drain_batch


class Command(BaseCommand):
    help = "Queue every indexed row for the search backend and drain the queue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue-only", action="store_true",
                            help="only queue the rows; Celery's drain indexes them")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = search_enqueue_all()
        queued = ", ".join(f"{n} {kind}s" for kind, n in counts.items())
        backend = search_backend()
        if options["queue_only"]:
            self.stdout.write(f"Queued {queued} for {backend.name}.")
            return
        done = 0
        while n := search_queue_drain_batch(backend=backend):
            done += n
        left = SearchIndexQueueItem.objects.filter(status=IndexStatus.PENDING).count()
        self.stdout.write(f"Queued {queued}; indexed {done} rows in {backend.name}"
                          + (f"; {left} left pending (backend refused, retried later)."
                             if left else "."))
