"""Reads for the catalog that respect moderation state and paranoia.

Uploader visibility ("paranoia permitting"): an anonymous upload (torrents.is_anonymous)
never names its uploader, and a member whose privacy hides "show_uploads" is not shown as
uploader nor findable by the uploader filter; the uploader themself and staff with
USERS_VIEW_PRIVATE see through both. The torrent page asks
domain.accounts.selectors.profile_visible_fields (the one paranoia check); lists and the
uploader filter need the same rule inside SQL, so `_annotate_uploader_visible` states it
as an annotation (one query for a whole page instead of one check per row).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.paginator import Page
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL

from domain.accounts.models import User, UserPrivacy
from domain.accounts.permissions import Perm, user_has_perm
from domain.base import TargetType
from domain.catalog.access import torrent_may_edit
from domain.catalog.models import (
    Comment,
    Torrent,
    TorrentCategory,
    TorrentFile,
    TorrentStatus,
    TorrentTagAssignment,
)
from domain.errors import NotFound
from domain.paging import page_bounded

SORTS = {
    "time": "created_at",
    "size": "size",
    "seeders": "stat_seeders",
    "leechers": "stat_leechers",
    "snatches": "stat_snatches",
}
# Columns of torrents itself (NOT NULL); the statistics ones are null without a row.
_NOT_NULL_SORTS = frozenset({"created_at", "size"})
# torrents.stat_*: torrent_statistics' counts copied onto the torrent row by trigger
# (sql/0007_torrent_swarm_sort.sql), NULL without a statistics row, so ordering by them
# is ordering by statistics__<count> NULLS LAST, read off a partial index per key instead
# of sorting every approved torrent's join. Not model fields (Django never writes them).
_STAT_COPIES = frozenset({"stat_seeders", "stat_leechers", "stat_snatches"})
METADATA_FILTERS = ("resolution", "source", "video_codec", "release_group")
_PUNCT = r"[._\-\[\](){}+/]+"
# A text search adds typo-tolerant trigram matches when full text finds fewer rows than this.
_TYPO_FALLBACK_BELOW = 10


def _privacy_hidden() -> Exists:
    return Exists(UserPrivacy.objects.filter(user_id=OuterRef("uploader_id"),
                                             show_uploads=False))


def torrents_visible(user: User) -> QuerySet[Torrent]:
    """Torrents `user` may see: approved ones, their own, everything for moderators."""
    qs = Torrent.objects.filter(deleted_at__isnull=True)
    if user_has_perm(user, Perm.TORRENTS_MODERATE):
        return qs
    return qs.filter(Q(status=TorrentStatus.APPROVED) | Q(uploader_id=user.pk))


def _torrents_listable(user: User) -> QuerySet[Torrent]:
    """torrents_visible, for lists: the same rows, in a form the browse index can serve.
    "Approved, or my own" is an OR that no index answers, so the newest page of a list
    sorted every visible row. Most members have no live upload that is not approved (one
    cheap look on torrents_uploader_idx says so): for them "approved" alone is the same
    set, and it is the condition of the partial torrents_browse_idx."""
    if user_has_perm(user, Perm.TORRENTS_MODERATE):
        return torrents_visible(user)
    own_unapproved = (Torrent.objects.filter(uploader_id=user.pk, deleted_at__isnull=True)
                      .exclude(status=TorrentStatus.APPROVED).exists())
    if own_unapproved:
        return torrents_visible(user)
    return Torrent.objects.filter(deleted_at__isnull=True, status=TorrentStatus.APPROVED)


def _annotate_uploader_visible(qs: QuerySet[Torrent], user: User) -> QuerySet[Torrent]:
    visible: Any
    if user_has_perm(user, Perm.USERS_VIEW_PRIVATE):
        visible = Q(uploader__isnull=False)
    else:
        visible = Q(uploader__isnull=False) & (
            Q(uploader_id=user.pk) | (Q(is_anonymous=False) & ~_privacy_hidden()))
    return qs.annotate(uploader_visible=ExpressionWrapper(visible, output_field=BooleanField()))


@dataclass(frozen=True)
class BrowseFilters:
    q: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()
    freeleech: bool = False
    uploader: str = ""
    metadata: tuple[tuple[str, str], ...] = ()
    sort: str = "time"
    order: str = "desc"
    status: str = ""
    # The machine face's filters (frontend/api): any of several categories (each with its
    # subcategories), external ids, and a TV season/episode matched in the release name.
    categories: tuple[str, ...] = ()
    imdb_id: str = ""
    tmdb_id: int | None = None
    tvdb_id: int | None = None
    season: int | None = None
    episode: str = ""
    doubleup: bool = False
    featured: bool = False


def _episode_pattern(season: int | None, episode: str) -> str | None:
    """A regular expression (upper case, for the trigram index on upper(name)) for a
    season/episode the way release names spell them: S01E02, S01, or a daily show's
    2024.03.15 (season=2024, ep=03/15)."""
    if season is None:
        return None
    episode = episode.strip()
    if season >= 1000:
        if not episode:
            return rf"(^|[^0-9]){season}([^0-9]|$)"
        parts = [p for p in re.split(r"[/.\-]", episode) if p.isdigit()][:2]
        if not parts:
            return None
        return rf"{season}[. _-]?" + "[. _-]?".join(f"0*{int(p)}" for p in parts) \
            + "([^0-9]|$)"
    if episode.isdigit():
        return rf"(^|[^A-Z0-9])S0*{season}E0*{int(episode)}([^0-9]|$)"
    return rf"(^|[^A-Z0-9])S0*{season}([^0-9]|$)"


def _browse_queryset(user: User, filters: BrowseFilters) -> tuple[QuerySet[Torrent], bool]:
    """The filtered, ordered torrents of a browse or API search, and whether the order is
    by relevance. Every list of torrents (page, feed of the API, Torznab) is built here."""
    candidates, ranked = _browse_candidates(user, filters)
    if len(candidates) > 1 and not _full_text_enough(candidates[0]):
        return candidates[1], ranked
    return candidates[0], ranked


def _full_text_enough(exact: QuerySet[Torrent]) -> bool:
    """Whether full text alone finds _TYPO_FALLBACK_BELOW rows (else trigram matches for
    typos are added): the first few matches, newest first, off torrents_browse_idx."""
    return len(exact.order_by("-created_at").values("pk")[:_TYPO_FALLBACK_BELOW]) \
        >= _TYPO_FALLBACK_BELOW


def _browse_candidates(user: User, filters: BrowseFilters
                       ) -> tuple[list[QuerySet[Torrent]], bool]:
    """_browse_queryset's list, filtered and ordered, and whether by relevance; for a text
    search in PostgreSQL two of them: full text alone, then the same with typo-tolerant
    trigram matches, for when full text finds fewer than _TYPO_FALLBACK_BELOW rows (the
    caller decides which, with _full_text_enough or from a page of the first)."""
    from domain.search.backends import SearchBackendError, search_backend

    qs = _annotate_uploader_visible(_torrents_listable(user), user)
    if filters.status and user_has_perm(user, Perm.TORRENTS_MODERATE):
        qs = qs.filter(status=filters.status)
    if filters.category:
        qs = qs.filter(Q(category__slug=filters.category)
                       | Q(category__parent__slug=filters.category))
    if filters.categories:
        qs = qs.filter(Q(category__slug__in=filters.categories)
                       | Q(category__parent__slug__in=filters.categories))
    if filters.imdb_id:
        qs = qs.filter(metadata__imdb_id=filters.imdb_id)
    if filters.tmdb_id is not None:
        qs = qs.filter(metadata__tmdb_id=filters.tmdb_id)
    if filters.tvdb_id is not None:
        qs = qs.filter(metadata__tvdb_id=filters.tvdb_id)
    if filters.doubleup:
        qs = qs.filter(is_double_upload=True)
    if filters.featured:
        qs = qs.filter(is_featured=True)
    pattern = _episode_pattern(filters.season, filters.episode)
    if pattern is not None:
        qs = qs.extra(where=["upper(torrents.name) ~ %s"], params=[pattern])
    for tag in filters.tags:
        qs = qs.filter(tag_assignments__tag__name=tag)
    if filters.freeleech:
        qs = qs.filter(is_freeleech=True)
    if filters.uploader:
        qs = qs.filter(uploader__username__iexact=filters.uploader,
                       uploader_visible=True)  # type: ignore[misc]
    for name, value in filters.metadata:
        if name in METADATA_FILTERS and value:
            qs = qs.filter(**{f"metadata__{name}__iexact": value})
    ranked = False
    query = filters.q.strip()[:200]
    if query:
        try:
            ids = search_backend().search_ids(query, limit=1000)
        except SearchBackendError:
            # Meilisearch down: PostgreSQL still answers, a little less cleverly.
            ids = None
        if ids is None:
            words = re.sub(_PUNCT, " ", query)
            # Full text on the trigger-maintained vector (GIN) first. Only when it finds
            # fewer than _TYPO_FALLBACK_BELOW rows (a typo'd word matches nothing, as
            # every word must match) is a trigram match on the name added for typos ("Big
            # Buck Buny"): word_similarity (`<%`, the query against the closest stretch
            # of the name), which the gin_trgm_ops index on upper(name) answers from few
            # candidates; plain similarity (`%`) rechecked tens of thousands of rows at
            # 200k torrents for a two-word query (issue 16).
            exact = qs.extra(where=[
                "(torrents.search_vector @@ websearch_to_tsquery('simple', %s)"
                " OR torrents.search_vector @@ websearch_to_tsquery('english', %s))"],
                params=[words, query])
            typos = qs.extra(where=[
                "(torrents.search_vector @@ websearch_to_tsquery('simple', %s)"
                " OR torrents.search_vector @@ websearch_to_tsquery('english', %s)"
                " OR upper(%s) <%% upper(torrents.name))"], params=[words, query, query])
            # Whole-word matches first (ts_rank is 0 for a typo), then the closest name.
            rank = RawSQL(
                "ts_rank(torrents.search_vector, websearch_to_tsquery('simple', %s))"
                " + word_similarity(upper(%s), upper(torrents.name))", (words, query))
            ranked = filters.sort == "relevance"
            return [_ordered(exact.annotate(rank=rank), filters, ranked),
                    _ordered(typos.annotate(rank=rank), filters, ranked)], ranked
        else:
            qs = qs.filter(pk__in=ids)
            if filters.sort == "relevance":
                # Meilisearch ranked them: keep its order, not ours.
                from domain.catalog.request_selectors import _in_order

                return [qs.order_by(_in_order(ids), "-id")], True
    return [_ordered(qs, filters, ranked)], ranked


def _ordered(qs: QuerySet[Torrent], filters: BrowseFilters, ranked: bool) -> QuerySet[Torrent]:
    field = SORTS.get(filters.sort, "created_at")
    if field in _NOT_NULL_SORTS:
        # Never null, so NULLS LAST changes nothing but would keep PostgreSQL from
        # reading the order off an index (created_at DESC is NULLS FIRST there).
        ordering: Any = F(field).asc() if filters.order == "asc" else F(field).desc()
    else:
        # `field` is one of _STAT_COPIES' fixed names, never the request's text.
        column: Any = (RawSQL(f"torrents.{field}", ())  # noqa: S611
                       if field in _STAT_COPIES else F(field))
        ordering = column.asc(nulls_last=True) if filters.order == "asc" \
            else column.desc(nulls_last=True)
    # The id breaks ties in every order, so an offset's pages neither repeat nor skip rows.
    return (qs.order_by("-rank", "-created_at", "-id") if ranked  # type: ignore[misc]
            else qs.order_by(ordering, "-id"))


def _listing(qs: QuerySet[Torrent], filters: BrowseFilters, *,
             prefetch_tags: bool = True) -> QuerySet[Torrent]:
    qs = qs.select_related("category", "category__parent", "statistics", "uploader") \
        .defer("info_dict", "description", "search_vector")
    if prefetch_tags:
        qs = qs.prefetch_related(Prefetch(
            "tag_assignments", queryset=TorrentTagAssignment.objects.select_related("tag")
            .order_by("-score", "tag__name")))
    if filters.tags:
        qs = qs.distinct()
    return qs


def _attach_tag_names(items: list[Torrent]) -> None:
    """Each torrent's tag names (best scored first, then by name: the order the listing's
    prefetch gives) as `tag_names`, in one query. The machine face needs the names only;
    Django's prefetch of the assignments clones and filters a queryset per row, which was
    a fifth of a 100-row API page's time."""
    names: dict[uuid.UUID, list[str]] = {t.pk: [] for t in items}
    if names:
        for torrent_id, name in (TorrentTagAssignment.objects
                                 .filter(torrent_id__in=list(names))
                                 .order_by("torrent_id", "-score", "tag__name")
                                 .values_list("torrent_id", "tag__name")):
            names[torrent_id].append(name)
    for t in items:
        t.tag_names = names[t.pk]  # type: ignore[attr-defined]


def tag_names(torrent: Torrent) -> list[str]:
    """A torrent's tag names: those torrents_search attached, else its assignments'."""
    attached = getattr(torrent, "tag_names", None)
    if attached is not None:
        return list(attached)
    return [a.tag.name for a in torrent.tag_assignments.all()]


def torrents_browse(*, user: User, filters: BrowseFilters, page: int = 1,
                    per_page: int | None = None, count_cap: int | None = None) -> Page:
    """One page of torrents for the browse and search pages, in a fixed number of
    queries (count, page, tags prefetch; a text search adds one bounded full-text probe)
    whatever the page size. `count_cap` bounds the
    count (domain.paging: the page says "1,000+"); None counts every match."""
    qs, _ranked = _browse_queryset(user, filters)
    return page_bounded(_listing(qs, filters), per_page or settings.TORRENTS_PER_PAGE,
                        page, count_cap)


# What the machine faces (frontend/api: v1, UNIT3D, Torznab, and the factors they ask
# for) read of a listed torrent. The rest stays in the database: the uploader's row
# (password hash, passkey, e-mail) and a dozen timestamps per row that were parsed into
# datetimes for nothing, a tenth of a 100-row page's time.
_SEARCH_FIELDS = (
    "created_at", "info_hash_v1", "info_hash_v2", "version", "name", "category", "uploader",
    "is_anonymous", "status", "size", "file_count", "is_freeleech", "freeleech_until",
    "is_neutral_leech", "is_double_upload", "is_featured",
    "category__name", "category__slug", "category__parent",
    "category__parent__name", "category__parent__slug", "category__parent__parent",
    "statistics__seeders", "statistics__leechers", "statistics__snatches",
    "uploader__username",
    "metadata__year", "metadata__resolution", "metadata__source", "metadata__languages",
    "metadata__imdb_id", "metadata__tmdb_id", "metadata__tvdb_id", "metadata__extra",
)


def _search_listing(qs: QuerySet[Torrent], filters: BrowseFilters) -> QuerySet[Torrent]:
    # The machine face shows external ids for every row: joined, not one query per row.
    return _listing(qs, filters, prefetch_tags=False).select_related("metadata") \
        .only(*_SEARCH_FIELDS)


def _first_ids(qs: QuerySet[Torrent], filters: BrowseFilters, limit: int) -> list[uuid.UUID]:
    ids = qs.distinct() if filters.tags else qs
    return list(ids.values_list("pk", flat=True)[:limit])


def _text_head(user: User, filters: BrowseFilters, offset: int, limit: int, cap: int
               ) -> tuple[QuerySet[Torrent], list[Torrent], int | None]:
    """A text search's page when it lies within the first `cap` rows: the list, the
    page's rows and how many rows match, counted up to `cap` (None: not counted).

    One query reads the ids of the list's first `cap` rows off the torrents table alone
    (the full-text GIN probe and the filters, in the list's order and tie-break); the
    page's rows are then loaded with their joins by key and put back in that order. With
    the joins in the same query, PostgreSQL walked torrents_browse_idx newest first
    testing each row's vector (42k rows at 200k torrents for a page of 712 matches); for
    the ids alone and a limit of `cap`, it sorts the few matches of a narrow search off
    the GIN index and walks the index only for a broad one, whose matches are dense. The
    ids also count the matches (no count query) and say whether full text found enough
    (_full_text_enough); when it did not, the list with typo matches is sliced as
    before."""
    candidates, _ranked = _browse_candidates(user, filters)
    qs = candidates[0]
    head = _first_ids(qs, filters, cap)
    if len(candidates) > 1 and not (len(head) >= _TYPO_FALLBACK_BELOW or (
            len(head) == cap and _full_text_enough(qs))):
        qs = candidates[1]
        return qs, list(_search_listing(qs, filters)[offset:offset + limit]), None
    ids = head[offset:offset + limit]
    if not ids:
        return qs, [], len(head)
    rows = _annotate_uploader_visible(Torrent.objects.filter(pk__in=ids), user) \
        .select_related("category", "category__parent", "statistics", "uploader", "metadata") \
        .only(*_SEARCH_FIELDS).order_by()
    by_pk = {t.pk: t for t in rows}
    return qs, [by_pk[pk] for pk in ids], len(head)


@dataclass(frozen=True)
class TorrentSlice:
    total: int
    offset: int
    items: list[Torrent]
    # False: counting stopped at count_limit, and `total` is a lower bound ("at least").
    exact: bool = True


def torrents_search(*, user: User, filters: BrowseFilters, offset: int = 0,
                    limit: int = 100, count_limit: int | None = None) -> TorrentSlice:
    """Torrents `offset`..`offset+limit` of a search, with the total, for the API and
    Torznab: offset paging (an offset past the end is an empty slice, not the last page as
    the browse page's paginator gives), in three queries (count, slice, tags; four with a
    text search, three when its page lies within `count_limit`: see _text_head). Each item
    carries `tag_names` (see tag_names()), not prefetched assignments.
    `count_limit` stops counting there (`exact` False: the total says "at least"): an API
    total is informational, and counting every match of a broad search is most of its
    cost."""
    offset, limit = max(0, offset), max(0, limit)
    matched = None
    if (filters.q.strip() and limit and count_limit is not None
            and offset + limit <= count_limit):
        qs, items, matched = _text_head(user, filters, offset, limit, count_limit)
    else:
        qs, _ranked = _browse_queryset(user, filters)
        items = list(_search_listing(qs, filters)[offset:offset + limit]) if limit else []
    listing = _search_listing(qs, filters)
    _attach_tag_names(items)
    # When the whole result is in hand, its length is the total: no count query.
    exact = True
    if matched is not None and count_limit is not None:
        total, exact = matched, matched < count_limit
    elif offset == 0 and len(items) < limit:
        total = len(items)
    elif count_limit is not None:
        total = listing.order_by()[:count_limit].count()
        exact = total < count_limit
        if not exact:
            # A page past the cap still exists: the total is at least what it reaches.
            total = max(total, offset + len(items))
    else:
        total = listing.order_by().count()
    return TorrentSlice(total=total, offset=offset, items=items, exact=exact)


@dataclass
class TorrentPage:
    torrent: Torrent
    uploader: User | None
    files: list[Any]
    tags: list[TorrentTagAssignment]
    comments: list[Comment]
    my_votes: dict[uuid.UUID, int]
    can_edit: bool
    can_moderate: bool
    can_delete: bool
    can_delete_comments: bool


def _uploader_shown(viewer: User, torrent: Torrent) -> bool:
    from domain.accounts.selectors import profile_visible_fields

    uploader = torrent.uploader
    if uploader is None:
        return False
    if uploader.pk == viewer.pk or user_has_perm(viewer, Perm.USERS_VIEW_PRIVATE):
        return True
    return (not torrent.is_anonymous
            and "show_uploads" in profile_visible_fields(viewer, uploader))


def torrent_page(*, user: User, torrent_id: uuid.UUID) -> TorrentPage:

    qs = torrents_visible(user).select_related(
        "category", "category__parent", "statistics", "uploader", "uploader__privacy",
        "metadata", "moderation")
    torrent = qs.filter(pk=torrent_id).first()
    if torrent is None:
        raise NotFound("That torrent does not exist or is not approved yet.")
    uploader = torrent.uploader
    tags = list(torrent.tag_assignments.select_related("tag").order_by("-score", "tag__name"))
    votes = dict(TorrentTagAssignment.objects.filter(
        torrent=torrent, votes__user=user).values_list("pk", "votes__vote"))
    comments = list(Comment.objects.filter(
        target_type=TargetType.TORRENT, target_id=torrent.pk, deleted_at__isnull=True)
        .select_related("author", "quoted", "quoted__author").order_by("created_at"))
    return TorrentPage(
        torrent=torrent,
        uploader=uploader if _uploader_shown(user, torrent) else None,
        files=list(torrent.files.order_by("file_index")[:2000]),
        tags=tags, comments=comments, my_votes=votes,
        can_edit=torrent_may_edit(user, torrent),
        can_moderate=user_has_perm(user, Perm.TORRENTS_MODERATE),
        can_delete=user_has_perm(user, Perm.TORRENTS_DELETE_ANY) or torrent_may_edit(user, torrent),
        can_delete_comments=user_has_perm(user, Perm.COMMENTS_MODERATE),
    )


def torrent_files_for(*, torrent_ids: list[uuid.UUID], per_torrent: int = 100
                      ) -> dict[uuid.UUID, list[TorrentFile]]:
    """The first `per_torrent` files of each of these torrents, in one query (a window
    function: a torrent of 20,000 files does not bloat a list). The caller found the ids
    through a visibility-checked selector."""
    from django.db.models import Window
    from django.db.models.functions import RowNumber

    out: dict[uuid.UUID, list[TorrentFile]] = {t: [] for t in torrent_ids}
    if not torrent_ids:
        return out
    rows = (TorrentFile.objects.filter(torrent_id__in=torrent_ids)
            .annotate(n=Window(RowNumber(), partition_by=[F("torrent_id")],
                               order_by=F("file_index").asc()))
            .filter(n__lte=per_torrent).order_by("torrent_id", "file_index"))
    for f in rows:
        out[f.torrent_id].append(f)
    return out


def categories_tree() -> list[TorrentCategory]:
    return list(TorrentCategory.objects.filter(is_active=True)
                .select_related("parent").order_by("parent__sort_order", "sort_order"))


def torrents_feed(*, user: User, category: str = "", tags: tuple[str, ...] = (),
                  limit: int = 50) -> list[Torrent]:
    """Newest approved torrents for a member's RSS feed (never pending ones, even their own)."""
    qs = Torrent.objects.filter(deleted_at__isnull=True, status=TorrentStatus.APPROVED)
    if category:
        qs = qs.filter(Q(category__slug=category) | Q(category__parent__slug=category))
    for tag in tags:
        qs = qs.filter(tag_assignments__tag__name=tag)
    return list(qs.select_related("category").defer("info_dict", "search_vector")
                .order_by("-created_at").distinct()[:limit])


def torrent_search_documents(ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """Search documents for the torrents among `ids` that may be found (approved, not
    deleted). The uploader is only included where paranoia allows anyone to see it."""
    if not ids:
        return []
    torrents = (Torrent.objects.filter(pk__in=ids, deleted_at__isnull=True,
                                       status=TorrentStatus.APPROVED)
                .annotate(uploader_hidden=ExpressionWrapper(
                    Q(is_anonymous=True) | _privacy_hidden(), output_field=BooleanField()))
                .select_related("category", "category__parent", "statistics", "uploader",
                                "metadata")
                .prefetch_related("tag_assignments__tag").defer("info_dict", "search_vector"))
    docs = []
    for t in torrents:
        stats = getattr(t, "statistics", None)
        meta = getattr(t, "metadata", None)
        docs.append({
            "id": str(t.pk),
            "name": t.name,
            "description": t.description[:5000],
            "category": t.category.slug,
            "parent_category": t.category.parent.slug if t.category.parent else t.category.slug,
            "tags": [a.tag.name for a in t.tag_assignments.all()],
            "uploader": (t.uploader.username if t.uploader and not t.uploader_hidden else None),
            "is_freeleech": t.is_freeleech,
            "size": t.size,
            "seeders": stats.seeders if stats else 0,
            "leechers": stats.leechers if stats else 0,
            "snatches": stats.snatches if stats else 0,
            "created_at": int(t.created_at.timestamp()),
            "resolution": meta.resolution if meta else "",
            "source": meta.source if meta else "",
            "video_codec": meta.video_codec if meta else "",
            "release_group": meta.release_group if meta else "",
        })
    return docs


def comment_for_edit(*, user: User, comment_id: uuid.UUID) -> Comment:
    comment = Comment.objects.filter(pk=comment_id, deleted_at__isnull=True,
                                     author_id=user.pk).first()
    if comment is None:
        raise NotFound("That comment does not exist or is not yours.")
    return comment


def comment_target(*, comment_id: uuid.UUID) -> uuid.UUID:
    target = Comment.objects.filter(pk=comment_id).values_list("target_id", flat=True).first()
    if target is None:
        raise NotFound("That comment does not exist.")
    return target


def comment_page_url(*, target_type: str, target_id: uuid.UUID) -> str:
    """The page a comment is shown on (torrents, requests and collections share comments)."""
    if target_type == TargetType.REQUEST:
        return f"/requests/{target_id}/"
    if target_type == TargetType.COLLECTION:
        return f"/collections/{target_id}/"
    return f"/torrents/{target_id}/"


def comment_target_url(*, comment_id: uuid.UUID) -> str:
    row = Comment.objects.filter(pk=comment_id).values_list("target_type", "target_id").first()
    if row is None:
        raise NotFound("That comment does not exist.")
    return comment_page_url(target_type=row[0], target_id=row[1])
