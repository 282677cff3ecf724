"""Periodic community housekeeping (scheduled in server/celery.py)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from domain.community.services import chat_messages_cleanup


@shared_task(name="community.chat_messages_cleanup")
def chat_messages_cleanup_task() -> int:
    """Weekly: forget chat older than COMMUNITY_CHAT_RETENTION_DAYS. Idempotent: a second
    run (or a retry after a crash mid-way) finds nothing left to delete."""
    cutoff = timezone.now() - timedelta(days=settings.COMMUNITY_CHAT_RETENTION_DAYS)
    return chat_messages_cleanup(older_than=cutoff)
