"""Reads for collections: browse and search, one collection's page, a torrent's
collections, and a member's collections on their profile.

Paranoia: show_collections hides which collections a member started (they are not named
as owner, their collections are missing from their profile and from the owner filter);
show_collections_contributed hides what they added to others' collections (not named as
the one who added a torrent, nor listed on their profile). The member themself and staff
with USERS_VIEW_PRIVATE see through both.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.paginator import Page
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.db.models.functions import Upper

from domain.accounts.models import User, UserPrivacy
from domain.accounts.permissions import Perm, user_has_perm
from domain.base import TargetType
from domain.catalog.collections import collection_may_add, collection_may_manage
from domain.catalog.models import (
    CollectionType,
    Comment,
    TorrentCollection,
    TorrentCollectionItem,
    TorrentCollectionSubscription,
    TorrentStatus,
)
from domain.catalog.request_selectors import _in_order, _search_ids
from domain.errors import NotFound
from domain.paging import page_bounded

COLLECTION_SORTS = {"updated": "-updated_at", "name": "name", "items": "-item_count",
                    "subscribers": "-subscriber_count", "created": "-created_at"}


@dataclass(frozen=True)
class CollectionFilters:
    q: str = ""
    collection_type: str = ""
    category: str = ""
    owner: str = ""
    sort: str = "updated"


def _sees_private(viewer: User) -> bool:
    return user_has_perm(viewer, Perm.USERS_VIEW_PRIVATE)


def _owner_hidden(viewer: User) -> Any:
    """SQL: the owner hides show_collections from this viewer."""
    if _sees_private(viewer):
        return Q(pk__in=[])
    return (Exists(UserPrivacy.objects.filter(user_id=OuterRef("owner_id"),
                                              show_collections=False))
            & ~Q(owner_id=viewer.pk))


def collections_visible(viewer: User) -> QuerySet[TorrentCollection]:
    qs = TorrentCollection.objects.filter(deleted_at__isnull=True)
    if _sees_private(viewer) or user_has_perm(viewer, Perm.TORRENTS_EDIT_ANY):
        return qs
    return qs.filter(Q(is_public=True) | Q(owner_id=viewer.pk))


def collections_filter(*, viewer: User, filters: CollectionFilters
                       ) -> QuerySet[TorrentCollection]:
    qs = collections_visible(viewer).annotate(owner_hidden=ExpressionWrapper(
        _owner_hidden(viewer), output_field=BooleanField()))
    if filters.collection_type in CollectionType.values:
        qs = qs.filter(collection_type=filters.collection_type)
    if filters.category:
        qs = qs.filter(Q(category__slug=filters.category)
                       | Q(category__parent__slug=filters.category))
    if filters.owner.strip():
        qs = qs.filter(owner__username__iexact=filters.owner.strip()[:32],
                       owner_hidden=False)
    query = filters.q.strip()[:200]
    ids = _search_ids(query, "collection") if query else None
    if ids is not None:
        qs = qs.filter(pk__in=ids)
        if filters.sort == "relevance":
            return qs.order_by(_in_order(ids), "id")
    elif query:
        # upper(name) LIKE: served by the trigram index torrent_collections_name_trgm.
        qs = qs.annotate(name_upper=Upper("name"))
        for word in query.split()[:8]:
            qs = qs.filter(Q(name_upper__contains=word.upper())
                           | Q(description__icontains=word))
    return qs.order_by("-is_featured", COLLECTION_SORTS.get(filters.sort, "-updated_at"), "id")


def collections_browse(*, user: User, filters: CollectionFilters, page: int = 1,
                       per_page: int | None = None, count_cap: int | None = None) -> Page:
    """One page of collections; `count_cap` bounds the count as on the torrents and
    requests pages (domain.paging); None counts every match (the API)."""
    qs = (collections_filter(viewer=user, filters=filters)
          .select_related("owner", "category", "category__parent").defer("description"))
    return page_bounded(qs, per_page or settings.REQUESTS_PER_PAGE, page, count_cap)


@dataclass
class CollectionItemLine:
    item: TorrentCollectionItem
    added_by: User | None  # None: hidden by their paranoia, or gone


@dataclass
class CollectionPage:
    collection: TorrentCollection
    owner: User | None
    items: list[CollectionItemLine]
    comments: list[Comment]
    subscribed: bool
    can_manage: bool
    can_add: bool
    can_comment: bool
    can_feature: bool
    can_delete_comments: bool


def _hidden(user_ids: set[uuid.UUID], setting: str, viewer: User) -> set[uuid.UUID]:
    if not user_ids or _sees_private(viewer):
        return set()
    return set(UserPrivacy.objects.filter(user_id__in=user_ids, **{setting: False})
               .exclude(user_id=viewer.pk).values_list("user_id", flat=True))


def collection_page(*, user: User, collection_id: uuid.UUID) -> CollectionPage:
    collection = (collections_visible(user).select_related("owner", "category")
                  .filter(pk=collection_id).first())
    if collection is None:
        raise NotFound("That collection does not exist or was deleted.")
    items = list(TorrentCollectionItem.objects.filter(
        collection=collection, torrent__deleted_at__isnull=True,
        torrent__status=TorrentStatus.APPROVED)
        .select_related("torrent", "torrent__category", "torrent__statistics", "added_by")
        .defer("torrent__info_dict", "torrent__description", "torrent__search_vector")
        .order_by("position", "created_at"))
    adders = {i.added_by_id for i in items if i.added_by_id}
    hidden = _hidden(adders, "show_collections_contributed", user)
    owner = collection.owner
    if owner is not None and _hidden({owner.pk}, "show_collections", user):
        owner = None
    comments = list(Comment.objects.filter(
        target_type=TargetType.COLLECTION, target_id=collection.pk, deleted_at__isnull=True)
        .select_related("author", "quoted", "quoted__author").order_by("created_at"))
    return CollectionPage(
        collection=collection, owner=owner,
        items=[CollectionItemLine(item=i, added_by=None if i.added_by_id in hidden
                                  else i.added_by) for i in items],
        comments=comments,
        subscribed=TorrentCollectionSubscription.objects.filter(
            collection=collection, user=user).exists(),
        can_manage=collection_may_manage(user, collection),
        can_add=collection_may_add(user, collection),
        can_comment=user_has_perm(user, Perm.COMMENT),
        can_feature=user_has_perm(user, Perm.TORRENTS_EDIT_ANY),
        can_delete_comments=user_has_perm(user, Perm.COMMENTS_MODERATE),
    )


def torrent_collections(*, user: User, torrent_id: uuid.UUID) -> list[TorrentCollection]:
    """The collections a torrent is in, as the viewer may see them (its page lists them)."""
    return list(collections_visible(user).filter(items__torrent_id=torrent_id)
                .order_by("-is_featured", "name")[:50])


@dataclass
class MemberCollections:
    started: list[TorrentCollection] | None  # None: hidden by show_collections
    contributed: list[TorrentCollection] | None  # None: hidden by ..._contributed


def member_collections(*, viewer: User, member: User) -> MemberCollections:
    """A member's collections for their profile, as paranoia lets `viewer` see them."""
    hidden_started = bool(_hidden({member.pk}, "show_collections", viewer))
    hidden_contributed = bool(_hidden({member.pk}, "show_collections_contributed", viewer))
    visible = collections_visible(viewer)
    return MemberCollections(
        started=None if hidden_started else list(
            visible.filter(owner=member).order_by("name")[:100]),
        contributed=None if hidden_contributed else list(
            visible.filter(items__added_by=member).exclude(owner=member).distinct()
            .order_by("name")[:100]),
    )


def collection_search_documents(ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """Search documents for the public, not deleted collections among `ids`."""
    if not ids:
        return []
    rows = (TorrentCollection.objects.filter(pk__in=ids, deleted_at__isnull=True,
                                             is_public=True).select_related("category"))
    return [{"id": str(c.pk), "name": c.name, "description": c.description[:5000],
             "collection_type": c.collection_type,
             "category": c.category.slug if c.category else None, "items": c.item_count,
             "subscribers": c.subscriber_count, "updated_at": int(c.updated_at.timestamp())}
            for c in rows]
