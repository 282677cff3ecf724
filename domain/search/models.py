"""search_index_queue: what the search backends still have to index or drop."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from domain.base import TargetType, UUIDModel, choices_check

INDEXED_TARGETS = (TargetType.TORRENT, TargetType.REQUEST, TargetType.COLLECTION,
                   TargetType.FORUM_TOPIC, TargetType.USER)


class IndexOperation(models.TextChoices):
    UPSERT = "upsert", "Index"
    DELETE = "delete", "Remove"


class IndexStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed (retries exhausted)"


class SearchIndexQueueItem(UUIDModel):
    """One change to index. Drained by a Celery task with retry and backoff:
    next_attempt_at moves forward with each failure; attempts counts them."""

    target_type = models.CharField(max_length=32,
                                   choices=[(t.value, t.label) for t in INDEXED_TARGETS])
    target_id = models.UUIDField()
    operation = models.CharField(max_length=8, choices=IndexOperation.choices,
                                 default=IndexOperation.UPSERT)
    status = models.CharField(max_length=16, choices=IndexStatus.choices,
                              default=IndexStatus.PENDING)
    priority = models.SmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "search_index_queue"
        ordering = ["created_at"]
        indexes = [
            models.Index(models.F("priority").desc(), "next_attempt_at",
                         name="search_queue_due_idx", condition=Q(status="pending")),
            models.Index(fields=["target_type", "target_id"], name="search_queue_target_idx"),
            models.Index(fields=["processed_at"], name="search_queue_done_idx",
                         condition=Q(status="completed")),
        ]
        constraints = [
            choices_check("target_type", [t.value for t in INDEXED_TARGETS],
                          "search_queue_target_type_valid"),
            choices_check("operation", IndexOperation, "search_queue_operation_valid"),
            choices_check("status", IndexStatus, "search_queue_status_valid"),
            models.UniqueConstraint(fields=["target_type", "target_id"],
                                    name="search_queue_one_pending_per_target",
                                    condition=Q(status="pending")),
        ]
