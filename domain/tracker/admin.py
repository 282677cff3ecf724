"""Admin for the tracker's durable state. All of it is written by the announce path and
the periodic flush, so it is read-only here (stale peers may be deleted); the client
allow/deny rules are the one thing staff edit."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

from domain.accounts.admin import DomainAdmin, LogAdmin, ReadOnlyAdmin, hex_display
from domain.accounts.permissions import Perm
from domain.tracker.cache import invalidate_client_rules, invalidate_user
from domain.tracker.flush import set_aside_forget
from domain.tracker.models import (
    Announce,
    ClientRule,
    FlushBatch,
    Peer,
    PeerHistory,
    PeerHistoryDaily,
    RatioWatch,
    RefusedClaim,
    SetAsideEntry,
    TorrentHistory,
    TorrentStatistics,
)

PEER_ID_SEARCH = (("peer_id", 20),)


class _PeerIdDisplay:
    @admin.display(description="peer id")
    def peer_id_hex(self, row: Peer | Announce | PeerHistory) -> str:
        return hex_display(row.peer_id)


@admin.register(Peer)
class PeerAdmin(_PeerIdDisplay, DomainAdmin):
    edit_permission = Perm.SITE_SETTINGS
    list_display = ("torrent", "user", "peer_id_hex", "ip", "port", "is_seeder",
                    "is_connectable", "uploaded", "downloaded", "left", "client",
                    "last_announce_at")
    list_filter = ("is_seeder", "is_connectable", "last_announce_at")
    search_fields = ("user__username", "torrent__name", "^ip", "client")
    hex_search_fields = PEER_ID_SEARCH
    search_help_text = "Member, torrent, IP prefix, client or peer id (hex)."
    date_hierarchy = "last_announce_at"
    list_select_related = ("torrent", "user")
    ordering = ("-last_announce_at",)
    fields = ("torrent", "user", "peer_id_hex", "peer_key", "ip", "port", "uploaded",
              "downloaded", "left", "is_seeder", "is_connectable", "client", "user_agent",
              "announce_count", "seedtime_seconds", "leechtime_seconds", "started_at",
              "last_announce_at", "completed_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Announce)
class AnnounceAdmin(_PeerIdDisplay, LogAdmin):
    list_display = ("created_at", "torrent", "user", "event", "ip", "port", "uploaded_delta",
                    "downloaded_delta", "left", "client")
    list_filter = ("event", "created_at")
    search_fields = ("user__username", "^ip", "client")
    hex_search_fields = PEER_ID_SEARCH
    uuid_search_fields = ("torrent_id", "user_id")
    search_help_text = "Member, IP prefix, client, peer id (hex), or a torrent's or member's id."
    date_hierarchy = "created_at"
    list_select_related = ("torrent", "user")
    fields = ("created_at", "torrent", "user", "peer_id_hex", "ip", "port", "event",
              "uploaded", "downloaded", "left", "uploaded_delta", "downloaded_delta",
              "credited_uploaded", "credited_downloaded", "numwant", "client", "user_agent")
    readonly_fields = fields


@admin.register(PeerHistoryDaily)
class PeerHistoryDailyAdmin(LogAdmin):
    list_display = ("day", "torrent", "user", "uploaded", "downloaded", "seedtime_seconds",
                    "samples")
    list_filter = ("day",)
    search_fields = ("user__username", "torrent__name")
    uuid_search_fields = ("torrent_id", "user_id")
    date_hierarchy = "day"
    list_select_related = ("torrent", "user")
    raw_id_fields = ("torrent", "user")
    ordering = ("-day",)


@admin.register(PeerHistory)
class PeerHistoryAdmin(_PeerIdDisplay, LogAdmin):
    list_display = ("recorded_at", "torrent", "user", "peer_id_hex", "uploaded_delta",
                    "downloaded_delta", "left", "is_seeder")
    list_filter = ("is_seeder", "recorded_at")
    search_fields = ("user__username",)
    hex_search_fields = PEER_ID_SEARCH
    uuid_search_fields = ("torrent_id", "user_id")
    date_hierarchy = "recorded_at"
    list_select_related = ("torrent", "user")
    ordering = ("-recorded_at",)
    fields = ("recorded_at", "torrent", "user", "peer_id_hex", "uploaded_delta",
              "downloaded_delta", "left", "is_seeder", "seedtime_seconds",
              "leechtime_seconds")
    readonly_fields = fields


@admin.register(TorrentStatistics)
class TorrentStatisticsAdmin(ReadOnlyAdmin):
    list_display = ("torrent", "seeders", "leechers", "snatches", "uploaded_total",
                    "downloaded_total", "last_seeder_at", "last_activity_at")
    list_filter = ("last_activity_at",)
    search_fields = ("torrent__name",)
    list_select_related = ("torrent",)
    ordering = ("-seeders",)

    @admin.display(description="uploaded", ordering="total_uploaded")
    def uploaded_total(self, stats: TorrentStatistics) -> str:
        return filesizeformat(stats.total_uploaded)

    @admin.display(description="downloaded", ordering="total_downloaded")
    def downloaded_total(self, stats: TorrentStatistics) -> str:
        return filesizeformat(stats.total_downloaded)


@admin.register(ClientRule)
class ClientRuleAdmin(DomainAdmin):
    edit_permission = Perm.SITE_SETTINGS
    list_display = ("peer_id_prefix", "kind", "name", "reason", "is_active", "updated_at")
    list_filter = ("kind", "is_active")
    search_fields = ("peer_id_prefix", "name", "reason")
    readonly_fields = ("created_at", "updated_at")

    def invalidate(self, rule: ClientRule) -> None:
        invalidate_client_rules()


@admin.register(FlushBatch)
class FlushBatchAdmin(LogAdmin):
    list_display = ("id", "entries", "flushed_at")
    list_filter = ("flushed_at",)
    search_fields = ("=id",)
    date_hierarchy = "flushed_at"
    ordering = ("-flushed_at",)



@admin.register(RefusedClaim)
class RefusedClaimAdmin(_PeerIdDisplay, LogAdmin):
    """Transfer the tracker refused to credit (more than a link could carry); the member
    has an auto-flag item in the moderation queue."""

    list_display = ("created_at", "user", "torrent", "event", "ip", "refused_up",
                    "refused_down", "uploaded_credited", "downloaded_credited")
    list_filter = ("event", "created_at")
    search_fields = ("user__username", "torrent__name", "^ip")
    uuid_search_fields = ("torrent_id", "user_id")
    date_hierarchy = "created_at"
    list_select_related = ("torrent", "user")
    fields = ("created_at", "user", "torrent", "peer_id_hex", "ip", "event", "uploaded",
              "downloaded", "uploaded_credited", "downloaded_credited", "uploaded_refused",
              "downloaded_refused")
    readonly_fields = fields

    @admin.display(description="refused up", ordering="uploaded_refused")
    def refused_up(self, row: RefusedClaim) -> str:
        return filesizeformat(row.uploaded_refused)

    @admin.display(description="refused down", ordering="downloaded_refused")
    def refused_down(self, row: RefusedClaim) -> str:
        return filesizeformat(row.downloaded_refused)


@admin.register(SetAsideEntry)
class SetAsideEntryAdmin(DomainAdmin):
    """Announces the flush could not write, never credited. Staff read them and delete
    them once dealt with (which also clears them from the set-aside count metrics read)."""

    list_display = ("created_at", "id", "error")
    search_fields = ("=id", "=batch_id", "raw", "error")
    date_hierarchy = "created_at"
    fields = ("id", "created_at", "batch_id", "error", "raw")
    readonly_fields = fields
@admin.register(TorrentHistory)
class TorrentHistoryAdmin(DomainAdmin):
    """A member's history on a torrent. Everything is the flush's and the hit-and-run
    job's, except `immune`: staff exempt one download from the hit-and-run rule (the
    job then clears an active one at its next run)."""

    edit_permission = Perm.USERS_EDIT
    list_display = ("user", "torrent", "uploaded", "downloaded", "downloaded_raw",
                    "seedtime_seconds", "completed_at", "prewarned_at", "hnr_at",
                    "hnr_cleared_at", "immune")
    list_filter = ("immune", "completed_at", "hnr_at", "hnr_cleared_at")
    search_fields = ("user__username", "torrent__name")
    list_select_related = ("torrent", "user")
    ordering = ("-last_announce_at",)
    fields = ("user", "torrent", "immune", "uploaded", "downloaded", "uploaded_raw",
              "downloaded_raw", "seedtime_seconds", "leechtime_seconds", "client",
              "first_announce_at", "last_announce_at", "completed_at", "seeding_until",
              "active_until", "prewarned_at", "hnr_at", "hnr_cleared_at", "hnr_warning")
    readonly_fields = tuple(f for f in fields if f != "immune")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def invalidate(self, row: TorrentHistory) -> None:
        invalidate_user(row.user_id)


@admin.register(RatioWatch)
class RatioWatchAdmin(DomainAdmin):
    """Spells on ratio watch, as the ratio-watch job keeps them (read-only)."""

    list_display = ("user", "required_ratio", "ratio_at_start", "started_at", "deadline_at",
                    "leech_disabled_at", "ended_at")
    list_filter = ("ended_at", "leech_disabled_at")
    search_fields = ("user__username",)
    list_select_related = ("user",)
    ordering = ("-started_at",)
    readonly_fields = ("user", "required_ratio", "ratio_at_start", "started_at",
                       "deadline_at", "leech_disabled_at", "ended_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        set_aside_forget([str(obj.pk)])

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        ids = [str(pk) for pk in queryset.values_list("pk", flat=True)]
        super().delete_queryset(request, queryset)
        set_aside_forget(ids)
