"""Admin for torrents, tags, requests, collections and comments.

A torrent's hashes, sizes, version and files all come from its info dictionary, so they
are shown, never edited; a torrent is only ever created by an upload.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet
from django.db.models.functions import Length
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat, truncatechars

from domain.accounts.admin import (
    DomainAdmin,
    ReadOnlyAdmin,
    hex_display,
)
from domain.accounts.permissions import Perm
from domain.catalog.collections import collection_feature
from domain.catalog.models import (
    Comment,
    FeedToken,
    SiteStatisticsDaily,
    Top10Entry,
    Torrent,
    TorrentCategory,
    TorrentCollection,
    TorrentCollectionItem,
    TorrentCollectionSubscription,
    TorrentFile,
    TorrentMetadata,
    TorrentModeration,
    TorrentPieceLayers,
    TorrentRequest,
    TorrentRequestBounty,
    TorrentRequestVote,
    TorrentTag,
    TorrentTagAssignment,
    TorrentTagVote,
)
from domain.catalog.requests import request_delete, request_unfill, request_vote_refund
from domain.errors import DomainError
from domain.tracker.cache import invalidate_torrent
from domain.tracker.models import TorrentStatistics

INFO_HASH_SEARCH = (("info_hash_v1", 20), ("info_hash_v2", 32))


def _categories() -> QuerySet[TorrentCategory]:
    # A subcategory's name includes its parent's: without the join, every choice in a
    # select or a filter costs one more query.
    return TorrentCategory.objects.select_related("parent")


class CategoryListFilter(admin.RelatedFieldListFilter):
    def field_choices(self, field: Any, request: HttpRequest,
                      model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [(str(category.pk), str(category)) for category in _categories()]


class CategoryChoicesAdmin(DomainAdmin):
    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> Any:
        if db_field.related_model is TorrentCategory:
            kwargs["queryset"] = _categories()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(TorrentCategory)
class TorrentCategoryAdmin(CategoryChoicesAdmin):
    edit_permission = Perm.SITE_SETTINGS
    list_display = ("name", "parent", "slug", "sort_order", "is_active")
    list_filter = ("is_active", ("parent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "slug")
    list_select_related = ("parent",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")


class TorrentFileInline(admin.TabularInline):
    """The file list as the info dictionary has it (read-only)."""

    model = TorrentFile
    fields = ("file_index", "path", "size_display", "pieces_root_hex")
    readonly_fields = fields
    ordering = ("file_index",)
    extra = 0
    classes = ("collapse",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="size")
    def size_display(self, file: TorrentFile) -> str:
        return filesizeformat(file.size)

    @admin.display(description="pieces root")
    def pieces_root_hex(self, file: TorrentFile) -> str:
        return hex_display(file.pieces_root)


class TorrentMetadataInline(admin.StackedInline):
    model = TorrentMetadata
    extra = 0
    max_num = 1
    readonly_fields = ("created_at", "updated_at")


class TorrentModerationInline(admin.StackedInline):
    model = TorrentModeration
    extra = 0
    max_num = 1
    raw_id_fields = ("moderator",)
    readonly_fields = ("created_at", "updated_at")


class TorrentStatisticsInline(admin.StackedInline):
    """Swarm counters written by the tracker flush."""

    model = TorrentStatistics
    extra = 0
    can_delete = False
    readonly_fields = ("seeders", "leechers", "snatches", "total_uploaded",
                       "total_downloaded", "last_seeder_at", "last_activity_at", "updated_at")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _swarm(torrent: Torrent) -> TorrentStatistics | None:
    try:
        return torrent.statistics  # type: ignore[attr-defined,no-any-return]
    except ObjectDoesNotExist:
        return None


def invalidate_torrent_everywhere(torrent: Torrent) -> None:
    """Status, promotion and deletion are what the announce path caches of a torrent."""
    hashes = tuple(bytes(h) for h in (torrent.info_hash_v1, torrent.info_hash_v2) if h)
    invalidate_torrent(torrent.pk, info_hashes=hashes)


@admin.register(Torrent)
class TorrentAdmin(CategoryChoicesAdmin):
    edit_permission = Perm.TORRENTS_EDIT_ANY
    list_display = ("name", "category", "uploader", "status", "version", "size_display",
                    "file_count", "seeders", "leechers", "is_freeleech", "created_at")
    list_filter = ("status", "version", ("category", CategoryListFilter), "is_freeleech",
                   "is_neutral_leech", "is_double_upload", "is_featured", "is_anonymous",
                   ("deleted_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("name", "uploader__username", "source")
    hex_search_fields = INFO_HASH_SEARCH
    uuid_search_fields = ("id",)
    search_help_text = "Name, uploader, source, info hash (hex) or id."
    date_hierarchy = "created_at"
    list_select_related = ("category__parent", "uploader", "statistics")
    raw_id_fields = ("uploader",)
    readonly_fields = ("info_hash_v1_hex", "info_hash_v2_hex", "version", "info_dict_size",
                       "size_display", "file_count", "piece_length", "created_at",
                       "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "category", "description", "uploader", "is_anonymous",
                           "status", "source")}),
        ("Content", {"fields": ("info_hash_v1_hex", "info_hash_v2_hex", "version",
                                "info_dict_size", "size_display", "file_count",
                                "piece_length")}),
        ("Promotion", {"fields": ("is_freeleech", "freeleech_until", "is_neutral_leech",
                                  "is_double_upload", "is_featured")}),
        ("Dates", {"fields": ("created_at", "updated_at", "deleted_at")}),
    )
    inlines = (TorrentModerationInline, TorrentMetadataInline, TorrentStatisticsInline,
               TorrentFileInline)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Hashes, sizes and files come from a .torrent file: the upload makes torrents.
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Torrent]:
        # info_dict holds every piece hash (megabytes for a big torrent): a page of 100
        # must not fetch them, and a save must not write them back.
        return (super().get_queryset(request).defer("info_dict", "search_vector")
                .annotate(info_dict_bytes=Length("info_dict")))

    def invalidate(self, torrent: Torrent) -> None:
        invalidate_torrent_everywhere(torrent)

    @admin.display(description="info hash v1")
    def info_hash_v1_hex(self, torrent: Torrent) -> str:
        return hex_display(torrent.info_hash_v1)

    @admin.display(description="info hash v2")
    def info_hash_v2_hex(self, torrent: Torrent) -> str:
        return hex_display(torrent.info_hash_v2)

    @admin.display(description="info dictionary")
    def info_dict_size(self, torrent: Torrent) -> str:
        return filesizeformat(torrent.info_dict_bytes)  # type: ignore[attr-defined]

    @admin.display(description="size", ordering="size")
    def size_display(self, torrent: Torrent) -> str:
        return filesizeformat(torrent.size)

    @admin.display(ordering="statistics__seeders")
    def seeders(self, torrent: Torrent) -> int | None:
        swarm = _swarm(torrent)
        return None if swarm is None else swarm.seeders

    @admin.display(ordering="statistics__leechers")
    def leechers(self, torrent: Torrent) -> int | None:
        swarm = _swarm(torrent)
        return None if swarm is None else swarm.leechers


@admin.register(TorrentFile)
class TorrentFileAdmin(ReadOnlyAdmin):
    list_display = ("path", "torrent", "file_index", "size_display")
    search_fields = ("path", "torrent__name")
    list_select_related = ("torrent",)
    fields = ("torrent", "file_index", "path", "size_display", "pieces_root_hex")
    readonly_fields = fields

    @admin.display(description="size", ordering="size")
    def size_display(self, file: TorrentFile) -> str:
        return filesizeformat(file.size)

    @admin.display(description="pieces root")
    def pieces_root_hex(self, file: TorrentFile) -> str:
        return hex_display(file.pieces_root)


@admin.register(TorrentTag)
class TorrentTagAdmin(DomainAdmin):
    edit_permission = Perm.TORRENTS_EDIT_ANY
    list_display = ("name", "usage_count", "created_by", "created_at")
    search_fields = ("name", "description")
    list_select_related = ("created_by",)
    raw_id_fields = ("created_by",)
    readonly_fields = ("usage_count", "created_at", "updated_at")


@admin.register(TorrentTagAssignment)
class TorrentTagAssignmentAdmin(DomainAdmin):
    edit_permission = Perm.TORRENTS_EDIT_ANY
    list_display = ("tag", "torrent", "score", "added_by", "created_at")
    search_fields = ("tag__name", "torrent__name", "added_by__username")
    date_hierarchy = "created_at"
    list_select_related = ("tag", "torrent", "added_by")
    raw_id_fields = ("torrent", "added_by")
    autocomplete_fields = ("tag",)
    readonly_fields = ("score",)
    ordering = ("-created_at",)


@admin.register(TorrentTagVote)
class TorrentTagVoteAdmin(DomainAdmin):
    edit_permission = Perm.TORRENTS_EDIT_ANY
    list_display = ("assignment_display", "user", "vote", "created_at")
    list_filter = ("vote",)
    search_fields = ("assignment__tag__name", "assignment__torrent__name", "user__username")
    list_select_related = ("assignment__tag", "assignment__torrent", "user")
    raw_id_fields = ("assignment", "user")
    ordering = ("-created_at",)

    @admin.display(description="tag on torrent")
    def assignment_display(self, vote: TorrentTagVote) -> str:
        return f"{vote.assignment.tag} on {vote.assignment.torrent}"


@admin.register(TorrentModeration)
class TorrentModerationAdmin(DomainAdmin):
    edit_permission = Perm.TORRENTS_MODERATE
    list_display = ("torrent", "status", "moderator", "decided_at", "created_at")
    list_filter = ("status", "decided_at")
    search_fields = ("torrent__name", "moderator__username", "reason")
    date_hierarchy = "created_at"
    list_select_related = ("torrent", "moderator")
    raw_id_fields = ("torrent", "moderator")
    readonly_fields = ("created_at", "updated_at")
    ordering = ("-created_at",)

    def invalidate(self, moderation: TorrentModeration) -> None:
        invalidate_torrent_everywhere(moderation.torrent)


@admin.register(TorrentMetadata)
class TorrentMetadataAdmin(DomainAdmin):
    edit_permission = Perm.TORRENTS_EDIT_ANY
    list_display = ("torrent", "year", "resolution", "source", "video_codec",
                    "release_group", "imdb_id")
    list_filter = ("resolution", "source", "container")
    search_fields = ("torrent__name", "release_group", "=imdb_id")
    list_select_related = ("torrent",)
    raw_id_fields = ("torrent",)
    readonly_fields = ("created_at", "updated_at")
    ordering = ("-created_at",)


@admin.register(TorrentRequest)
class TorrentRequestAdmin(CategoryChoicesAdmin):
    edit_permission = Perm.TORRENTS_EDIT_ANY
    list_display = ("title", "category", "requester", "status", "bounty_total", "vote_count",
                    "filler", "created_at")
    list_filter = ("status", ("category", CategoryListFilter),
                   ("deleted_at", admin.EmptyFieldListFilter),
                   "created_at")
    search_fields = ("title", "requester__username", "filler__username")
    uuid_search_fields = ("id",)
    date_hierarchy = "created_at"
    list_select_related = ("category__parent", "requester", "filler")
    raw_id_fields = ("requester", "filled_torrent", "filler")
    # Sums of the bounties and votes tables; the fill moves points, so it changes only
    # through the services (the actions below, the request page).
    readonly_fields = ("bounty_total", "vote_count", "status", "filled_torrent", "filler",
                       "filled_at", "deleted_at", "created_at", "updated_at")
    actions = ("unfill_requests", "delete_requests_with_refunds")

    @admin.action(description="Unfill (the bounty comes back from the filler)")
    def unfill_requests(self, request: HttpRequest, queryset: QuerySet[TorrentRequest]
                        ) -> None:
        _run_each(self, request, queryset.filter(status="filled"), lambda r: request_unfill(
            actor=_actor(request), request_id=r.pk, reason="Unfilled by staff in admin",
            ip_address=request.META.get("REMOTE_ADDR")), "unfilled")

    @admin.action(description="Delete, refunding every open bounty")
    def delete_requests_with_refunds(self, request: HttpRequest,
                                     queryset: QuerySet[TorrentRequest]) -> None:
        _run_each(self, request, queryset.filter(deleted_at__isnull=True),
                  lambda r: request_delete(actor=_actor(request), request_id=r.pk,
                                           reason="Deleted by staff in admin",
                                           ip_address=request.META.get("REMOTE_ADDR")),
                  "deleted")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A plain delete would lose the bounties' points: use the action instead.
        return False


def _actor(request: HttpRequest) -> Any:
    """The staff member acting (admin views only run for logged-in staff)."""
    return request.user


def _run_each(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any],
              call: Any, done: str) -> None:
    """Run one service per selected row; a refusal is shown, the other rows go on."""
    count = 0
    for row in queryset:
        try:
            call(row)
        except DomainError as exc:
            model_admin.message_user(request, f"{row}: {exc.message}", messages.ERROR)
        else:
            count += 1
    model_admin.message_user(request, f"{count} {done}.", messages.SUCCESS)


@admin.register(TorrentRequestBounty)
class TorrentRequestBountyAdmin(ReadOnlyAdmin):
    """Bounties move bonus points (each has its ledger row): read-only here."""

    list_display = ("request", "user", "amount", "created_at", "refunded_at")
    list_filter = (("refunded_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("request__title", "user__username")
    date_hierarchy = "created_at"
    list_select_related = ("request", "user")
    ordering = ("-created_at",)
    actions = ("refund_bounties",)

    @admin.action(description="Refund to the voter (open requests only)")
    def refund_bounties(self, request: HttpRequest,
                        queryset: QuerySet[TorrentRequestBounty]) -> None:
        _run_each(self, request, queryset.filter(refunded_at__isnull=True),
                  lambda b: request_vote_refund(actor=_actor(request), bounty_id=b.pk,
                                                reason="Refunded by staff in admin",
                                                ip_address=request.META.get("REMOTE_ADDR")),
                  "refunded")


@admin.register(TorrentRequestVote)
class TorrentRequestVoteAdmin(DomainAdmin):
    edit_permission = Perm.TORRENTS_EDIT_ANY
    list_display = ("request", "user", "created_at")
    search_fields = ("request__title", "user__username")
    list_select_related = ("request", "user")
    raw_id_fields = ("request", "user")
    ordering = ("-created_at",)


@admin.register(TorrentCollection)
class TorrentCollectionAdmin(CategoryChoicesAdmin):
    edit_permission = Perm.TORRENTS_EDIT_ANY
    list_display = ("name", "collection_type", "owner", "category", "is_public", "is_locked",
                    "is_featured", "item_count", "subscriber_count", "created_at")
    list_filter = ("collection_type", "is_public", "is_locked", "is_featured",
                   ("category", CategoryListFilter), ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "owner__username")
    uuid_search_fields = ("id",)
    date_hierarchy = "created_at"
    list_select_related = ("owner", "category__parent")
    raw_id_fields = ("owner",)
    readonly_fields = ("item_count", "subscriber_count", "is_featured", "created_at",
                       "updated_at")
    actions = ("feature_collections", "unfeature_collections")

    @admin.action(description="Feature (listed first on the collections page)")
    def feature_collections(self, request: HttpRequest,
                            queryset: QuerySet[TorrentCollection]) -> None:
        self._feature(request, queryset, featured=True)

    @admin.action(description="Stop featuring")
    def unfeature_collections(self, request: HttpRequest,
                              queryset: QuerySet[TorrentCollection]) -> None:
        self._feature(request, queryset, featured=False)

    def _feature(self, request: HttpRequest, queryset: QuerySet[TorrentCollection], *,
                 featured: bool) -> None:
        _run_each(self, request, queryset, lambda c: collection_feature(
            actor=_actor(request), collection_id=c.pk, featured=featured,
            ip_address=request.META.get("REMOTE_ADDR")),
            "featured" if featured else "no longer featured")


@admin.register(TorrentCollectionItem)
class TorrentCollectionItemAdmin(DomainAdmin):
    edit_permission = Perm.TORRENTS_EDIT_ANY
    list_display = ("collection", "position", "torrent", "added_by", "created_at")
    search_fields = ("collection__name", "torrent__name")
    list_select_related = ("collection", "torrent", "added_by")
    raw_id_fields = ("collection", "torrent", "added_by")


@admin.register(TorrentCollectionSubscription)
class TorrentCollectionSubscriptionAdmin(DomainAdmin):
    edit_permission = Perm.TORRENTS_EDIT_ANY
    list_display = ("collection", "user", "created_at", "last_notified_at")
    search_fields = ("collection__name", "user__username")
    list_select_related = ("collection", "user")
    raw_id_fields = ("collection", "user")
    ordering = ("-created_at",)


@admin.register(Comment)
class CommentAdmin(DomainAdmin):
    edit_permission = Perm.COMMENTS_MODERATE
    list_display = ("excerpt", "target_type", "target_id", "author", "edit_count",
                    "created_at", "deleted_at")
    list_filter = ("target_type", ("deleted_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("body", "author__username")
    uuid_search_fields = ("id", "target_id")
    search_help_text = "Text, author, or a comment's or target's id."
    date_hierarchy = "created_at"
    list_select_related = ("author",)
    raw_id_fields = ("author", "quoted", "deleted_by")
    readonly_fields = ("edited_at", "edit_count", "created_at", "updated_at")
    ordering = ("-created_at",)

    @admin.display(description="comment")
    def excerpt(self, comment: Comment) -> str:
        return truncatechars(comment.body, 80)


@admin.register(TorrentPieceLayers)
class TorrentPieceLayersAdmin(ReadOnlyAdmin):
    """BitTorrent v2 piece layers: shown as a size, like the info dict."""

    list_display = ("torrent", "data_size")
    search_fields = ("torrent__name",)
    list_select_related = ("torrent",)
    fields = ("torrent", "data_size")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[TorrentPieceLayers]:
        return super().get_queryset(request).defer("data").annotate(data_bytes=Length("data"))

    @admin.display(description="piece layers", ordering="data_bytes")
    def data_size(self, layers: TorrentPieceLayers) -> str:
        return filesizeformat(layers.data_bytes)  # type: ignore[attr-defined]


@admin.register(FeedToken)
class FeedTokenAdmin(DomainAdmin):
    """A member's RSS secret: never shown; deleting it is how staff revoke a leaked one."""
    edit_permission = Perm.USERS_EDIT

    list_display = ("user", "created_at", "updated_at")
    search_fields = ("user__username",)
    list_select_related = ("user",)
    fields = ("user", "created_at", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Top10Entry)
class Top10EntryAdmin(ReadOnlyAdmin):
    """Computed by the top 10 beat job; each refresh replaces the rows."""

    list_display = ("board", "period", "rank", "label", "value", "computed_at")
    list_filter = ("board", "period")
    ordering = ("board", "period", "rank")


@admin.register(SiteStatisticsDaily)
class SiteStatisticsDailyAdmin(ReadOnlyAdmin):
    """One snapshot a day, written by the statistics beat job."""

    list_display = ("day", "members", "active_today", "torrents", "peers", "seeders",
                    "leechers", "transferred")
    ordering = ("-day",)
