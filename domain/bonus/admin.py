"""Admin for the economy. The ledger is append-only and every balance follows it, so
transactions are read-only here (an adjustment needs a service that writes the ledger row
and the balance together)."""

from __future__ import annotations

from django.contrib import admin

from domain.accounts.admin import DomainAdmin, ReadOnlyAdmin
from domain.accounts.permissions import Perm
from domain.bonus.models import BonusRule, BonusTransaction, EarningPeriod, FreeleechToken
from domain.tracker.cache import invalidate_torrent, invalidate_user


@admin.register(BonusRule)
class BonusRuleAdmin(DomainAdmin):
    edit_permission = Perm.SITE_SETTINGS
    list_display = ("display_name", "name", "rule_type", "points_per_hour",
                    "points_per_gib_hour", "max_points_per_hour", "priority", "is_active")
    list_filter = ("rule_type", "is_active", "requires_freeleech")
    search_fields = ("name", "display_name")
    prepopulated_fields = {"name": ("display_name",)}
    readonly_fields = ("created_at", "updated_at")


@admin.register(BonusTransaction)
class BonusTransactionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "transaction_type", "amount", "balance_after",
                    "rule", "torrent", "counterparty", "acting_user")
    list_filter = ("transaction_type", "rule", "created_at")
    search_fields = ("user__username", "description", "=idempotency_key")
    uuid_search_fields = ("id", "torrent_id")
    date_hierarchy = "created_at"
    list_select_related = ("user", "rule", "torrent", "counterparty", "acting_user")


@admin.register(FreeleechToken)
class FreeleechTokenAdmin(DomainAdmin):
    edit_permission = Perm.USERS_EDIT
    list_display = ("user", "status", "torrent", "source", "activated_at", "expires_at",
                    "downloaded_bytes", "max_download_bytes", "created_at")
    list_filter = ("status", "source", "expires_at")
    search_fields = ("user__username", "torrent__name")
    date_hierarchy = "created_at"
    list_select_related = ("user", "torrent")
    raw_id_fields = ("user", "torrent")
    # Counted by the announce path.
    readonly_fields = ("downloaded_bytes", "created_at", "updated_at")
    ordering = ("-created_at",)

    def invalidate(self, token: FreeleechToken) -> None:
        # An active token changes what the member's announces on that torrent are charged.
        invalidate_user(token.user_id)
        if token.torrent_id is not None:
            invalidate_torrent(token.torrent_id)


@admin.register(EarningPeriod)
class EarningPeriodAdmin(ReadOnlyAdmin):
    """One row per awarded period, written with its ledger rows."""

    list_display = ("period_start", "period_end", "members", "points", "duration_ms",
                    "awarded_at")
    list_filter = ("awarded_at",)
    date_hierarchy = "period_start"
