"""Admin for the search indexing queue (drained by a Celery task)."""

from __future__ import annotations

from django.contrib import admin

from domain.accounts.admin import DomainAdmin
from domain.accounts.permissions import Perm
from domain.search.models import SearchIndexQueueItem


@admin.register(SearchIndexQueueItem)
class SearchIndexQueueItemAdmin(DomainAdmin):
    edit_permission = Perm.SITE_SETTINGS
    list_display = ("target_type", "target_id", "operation", "status", "priority", "attempts",
                    "next_attempt_at", "processed_at", "created_at")
    list_filter = ("status", "operation", "target_type", "created_at")
    search_fields = ("last_error",)
    uuid_search_fields = ("id", "target_id")
    search_help_text = "Error text, or an item's or target's id."
    date_hierarchy = "created_at"
    # Written by the indexing task.
    readonly_fields = ("attempts", "last_error", "processed_at")
