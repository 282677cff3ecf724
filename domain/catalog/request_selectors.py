"""Reads for requests: the browse page (filters, sorts) and one request's page.

Paranoia: a member whose privacy hides show_requests_voted is listed among a request's
voters as anonymous (their points still count), and one hiding show_requests_filled is not
named as filler; the member themself and staff with USERS_VIEW_PRIVATE see through both.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.paginator import Page
from django.db.models import Case, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Upper

from domain.accounts.models import User, UserPrivacy
from domain.accounts.permissions import Perm, user_has_perm
from domain.base import TargetType
from domain.catalog.access import request_may_edit
from domain.catalog.models import (
    Comment,
    RequestStatus,
    TorrentRequest,
    TorrentRequestBounty,
    TorrentStatus,
)
from domain.errors import NotFound
from domain.paging import page_bounded
from domain.search.backends import SearchBackendError, search_backend

REQUEST_SORTS = {"bounty": "bounty_total", "votes": "vote_count", "created": "created_at",
                 "filled": "filled_at", "title": "title"}
def _search_ids(query: str, kind: str) -> list[uuid.UUID] | None:
    """Ids from the search backend, best first; None: search in PostgreSQL (the default
    backend, or Meilisearch down)."""
    try:
        return search_backend().search_ids(query, limit=1000, kind=kind)
    except SearchBackendError:
        return None


def _in_order(ids: list[uuid.UUID]) -> Any:
    """ORDER BY the position in `ids` (the backend's relevance order)."""
    return Case(*[When(pk=pk, then=Value(i)) for i, pk in enumerate(ids)],
                default=Value(len(ids)), output_field=IntegerField())


EXTERNAL_ID_KEYS = ("imdb_id", "tmdb_id", "tvdb_id", "igdb_id", "musicbrainz_id")


@dataclass(frozen=True)
class RequestFilters:
    q: str = ""
    category: str = ""
    status: str = ""  # "", "open" or "filled"
    bounty_min: Decimal | None = None
    bounty_max: Decimal | None = None
    external_id: str = ""
    requester: str = ""
    sort: str = "created"
    order: str = "desc"


def requests_visible() -> QuerySet[TorrentRequest]:
    return TorrentRequest.objects.filter(deleted_at__isnull=True)


def _external_id_q(value: str) -> Q:
    value = value.strip()
    q = Q(requirements__imdb_id=value) | Q(requirements__musicbrainz_id=value.lower())
    if value.isdigit() and len(value) < 10:
        number = int(value)
        q |= (Q(requirements__tmdb_id=number) | Q(requirements__tvdb_id=number)
              | Q(requirements__igdb_id=number))
    return q


def requests_filter(filters: RequestFilters) -> QuerySet[TorrentRequest]:
    """The filtered and ordered queryset behind the browse page (and the JSON API)."""
    qs = requests_visible()
    if filters.category:
        qs = qs.filter(Q(category__slug=filters.category)
                       | Q(category__parent__slug=filters.category))
    if filters.status in (RequestStatus.OPEN, RequestStatus.FILLED):
        qs = qs.filter(status=filters.status)
    if filters.bounty_min is not None:
        qs = qs.filter(bounty_total__gte=filters.bounty_min)
    if filters.bounty_max is not None:
        qs = qs.filter(bounty_total__lte=filters.bounty_max)
    if filters.external_id.strip():
        qs = qs.filter(_external_id_q(filters.external_id[:64]))
    if filters.requester.strip():
        qs = qs.filter(requester__username__iexact=filters.requester.strip()[:32])
    query = filters.q.strip()[:200]
    ids = _search_ids(query, "request") if query else None
    if ids is not None:
        qs = qs.filter(pk__in=ids)
        if filters.sort == "relevance":
            return qs.order_by(_in_order(ids), "-id")
    elif query:
        # PostgreSQL: full text on the title (GIN torrent_requests_title_fts) or every
        # word as a substring of upper(title) (the trigram index
        # torrent_requests_title_trgm), so "1979 ALIEN" and "alie" both find "Alien 1979".
        qs = qs.annotate(title_upper=Upper("title"))
        substrings = Q()
        for word in query.split()[:8]:
            substrings &= Q(title_upper__contains=word.upper())
        qs = qs.annotate(title_fts=SearchVector("title", config="simple")).filter(
            Q(title_fts=SearchQuery(query, config="simple", search_type="websearch"))
            | substrings)
    column = REQUEST_SORTS.get(filters.sort, "created_at")
    ascending = filters.order == "asc"
    if column == "filled_at":  # the one that may be NULL: unfilled requests go last
        return qs.order_by(F(column).asc(nulls_last=True) if ascending
                           else F(column).desc(nulls_last=True), "-id")
    # Column and id in one direction: an index on (column, id) serves both orders.
    return qs.order_by(column, "id") if ascending else qs.order_by(f"-{column}", "-id")


def requests_browse(*, user: User, filters: RequestFilters, page: int = 1,
                    per_page: int | None = None, count_cap: int | None = None) -> Page:
    """One page of requests in a fixed number of queries (count + page). `count_cap`
    bounds the count (domain.paging: the page says "1,000+"); None counts every match."""
    qs = (requests_filter(filters)
          .select_related("category", "category__parent", "requester", "filler")
          .defer("description"))
    return page_bounded(qs, per_page or settings.REQUESTS_PER_PAGE, page, count_cap)


@dataclass
class VoterLine:
    user: User | None  # None: hidden by their paranoia
    amount: Decimal
    is_me: bool


@dataclass
class RequestPage:
    request: TorrentRequest
    voters: list[VoterLine]
    comments: list[Comment]
    filler: User | None
    filled_torrent: Any
    my_bounty: Decimal
    min_bounty: Decimal
    can_vote: bool
    can_fill: bool
    can_unfill: bool
    can_delete: bool
    can_edit: bool
    can_comment: bool
    can_delete_comments: bool
    requirements: list[tuple[str, Any]] = field(default_factory=list)


REQUIREMENT_LABELS = {
    "resolution": "Resolution", "video_codec": "Video codec", "audio_codec": "Audio codec",
    "source": "Source", "format": "Format", "release_group": "Release group",
    "year": "Year", "imdb_id": "IMDb", "tmdb_id": "TMDB", "tvdb_id": "TVDB",
    "igdb_id": "IGDB", "musicbrainz_id": "MusicBrainz",
}


def _hidden_ids(user_ids: set[uuid.UUID], setting: str, viewer: User) -> set[uuid.UUID]:
    if not user_ids or user_has_perm(viewer, Perm.USERS_VIEW_PRIVATE):
        return set()
    return set(UserPrivacy.objects.filter(user_id__in=user_ids, **{setting: False})
               .exclude(user_id=viewer.pk).values_list("user_id", flat=True))


def request_page(*, user: User, request_id: uuid.UUID) -> RequestPage:
    request = (requests_visible().select_related("category", "category__parent", "requester",
                                                 "filler", "filled_torrent")
               .filter(pk=request_id).first())
    if request is None:
        raise NotFound("That request does not exist or was deleted.")
    rows = list(TorrentRequestBounty.objects.filter(request=request, refunded_at__isnull=True)
                .values("user_id").annotate(total=Sum("amount")).order_by("-total", "user_id"))
    users = User.objects.in_bulk([r["user_id"] for r in rows])
    hidden = _hidden_ids(set(users), "show_requests_voted", user)
    voters = [VoterLine(user=None if r["user_id"] in hidden else users.get(r["user_id"]),
                        amount=r["total"], is_me=r["user_id"] == user.pk) for r in rows]
    filler = request.filler
    if filler is not None and _hidden_ids({filler.pk}, "show_requests_filled", user):
        filler = None
    torrent = request.filled_torrent
    if torrent is not None and (torrent.deleted_at is not None
                                or torrent.status != TorrentStatus.APPROVED):
        torrent = None
    comments = list(Comment.objects.filter(
        target_type=TargetType.REQUEST, target_id=request.pk, deleted_at__isnull=True)
        .select_related("author", "quoted", "quoted__author").order_by("created_at"))
    is_open = request.status == RequestStatus.OPEN
    voting = (user_has_perm(user, Perm.REQUEST_CREATE)
              and user_has_perm(user, Perm.BONUS_SPEND))
    return RequestPage(
        request=request, voters=voters, comments=comments, filler=filler,
        filled_torrent=torrent,
        my_bounty=sum((v.amount for v in voters if v.is_me), Decimal("0")),
        min_bounty=Decimal(str(settings.REQUEST_MIN_BOUNTY)),
        can_vote=is_open and voting,
        can_fill=is_open and user_has_perm(user, Perm.SITE_ACCESS),
        can_unfill=(request.status == RequestStatus.FILLED and user.is_active
                    and (user.pk in (request.requester_id, request.filler_id)
                         or user_has_perm(user, Perm.TORRENTS_EDIT_ANY))),
        can_delete=user_has_perm(user, Perm.TORRENTS_DELETE_ANY),
        can_edit=request_may_edit(user, request),
        can_comment=user_has_perm(user, Perm.COMMENT),
        can_delete_comments=user_has_perm(user, Perm.COMMENTS_MODERATE),
        requirements=[(REQUIREMENT_LABELS.get(k, k), v) for k, v in
                      request.requirements.items() if k in REQUIREMENT_LABELS],
    )


def torrent_requests_filled(*, torrent_id: uuid.UUID) -> list[TorrentRequest]:
    """The requests a torrent filled (shown on its page)."""
    return list(requests_visible().filter(filled_torrent_id=torrent_id,
                                          status=RequestStatus.FILLED).order_by("-filled_at"))


def request_search_documents(ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """Search documents for the requests among `ids` that may be found (not deleted)."""
    if not ids:
        return []
    return [{"id": str(r.pk), "title": r.title, "description": r.description[:5000],
             "category": r.category.slug, "status": r.status,
             "bounty": float(r.bounty_total), "votes": r.vote_count,
             "created_at": int(r.created_at.timestamp())}
            for r in requests_visible().filter(pk__in=ids).select_related("category")]
