"""The JSON API v1 at /api/v1/, built with django-ninja: its OpenAPI 3 document
(/api/v1/openapi.json) is generated from the same type hints that parse each request, and
its Swagger UI is served from ninja's own static files (the site works offline).

Every operation authenticates by API key (frontend.api.auth: Bearer, X-Api-Key or apikey=),
checks the key's scope, and calls the service or selector the pages call. Errors are one
JSON shape, `{"error": {"code", "message", "field"}}`, with a stable code per kind
(domain.errors and domain.accounts.apikeys), and every status an operation may answer is
in the document.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import File, Form, NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.files import UploadedFile
from ninja.parser import Parser
from ninja.security import APIKeyHeader, APIKeyQuery, HttpBearer
from pydantic import AfterValidator, Field

from domain.accounts.apikeys import ApiCaller, InvalidApiKey
from domain.accounts.models import ApiKeyScope, UserStatistics
from domain.bonus import selectors as bonus_selectors
from domain.bonus import services as bonus_services
from domain.bonus.models import TokenStatus
from domain.catalog import collection_selectors, request_selectors
from domain.catalog import collections as collection_services
from domain.catalog import requests as request_services
from domain.catalog import selectors as catalog_selectors
from domain.catalog import services as catalog_services
from domain.catalog.models import Torrent
from domain.catalog.selectors import METADATA_FILTERS, SORTS, BrowseFilters
from domain.community import selectors as community_selectors
from domain.community import services as community_services
from domain.errors import DomainError, RateLimited, ValidationFailed
from domain.tracker.factors import factors_for
from frontend.accounts.middleware import client_ip
from frontend.api import categories as cats
from frontend.api.auth import api_caller
from frontend.api.limits import limit_hit

PER_PAGE_MAX = 100
# Totals are counted up to here: counting every match of a broad search at 200k torrents
# costs more than the page itself (45 ms for 10,000 of a category against 6 ms for the
# page), and clients page on full pages; Sonarr stops at 1,000 results.
TOTAL_MAX = 1_000


# --- authentication: three ways to send one key, all documented -------------------------

class _BearerKey(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiCaller:
        return api_caller(request)


class _HeaderKey(APIKeyHeader):
    param_name = "X-Api-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiCaller | None:
        return api_caller(request) if key else None


class _QueryKey(APIKeyQuery):
    param_name = "apikey"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiCaller | None:
        return api_caller(request) if key else None


class _ObjectBodies(Parser):
    """JSON bodies are objects: `[null, null]` is refused, not read as an empty request."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    return value


# PostgreSQL text cannot hold NUL: a request carrying one is refused as invalid.
Text = Annotated[str, AfterValidator(_no_nul)]


api = NinjaAPI(
    title=f"{settings.SITE_NAME} API",
    version="1",
    description=(
        "Scoped API keys (search, download, upload, account) from Settings → API keys. "
        "Errors: `{\"error\": {\"code\", \"message\", \"field\"}}`; limits per key and per "
        "address answer 429 with Retry-After."),
    urls_namespace="api_v1",
    auth=[_BearerKey(), _HeaderKey(), _QueryKey()],
    docs_url="/docs",
    openapi_url="/openapi.json",
    parser=_ObjectBodies(),
)


def caller_of(request: HttpRequest, scope: ApiKeyScope) -> ApiCaller:
    caller: ApiCaller = request.auth  # type: ignore[attr-defined]
    caller.require(scope)
    return caller


# --- errors -----------------------------------------------------------------------------

class ErrorBody(Schema):
    code: str = Field(description="Stable, machine-readable: invalid, not_found, "
                                  "invalid_api_key, scope_missing, rate_limited, ...")
    message: str
    field: str | None = None


class ErrorOut(Schema):
    error: ErrorBody


def error_response(request: HttpRequest, *, status: int, code: str, message: str,
                   field: str | None = None, retry_after: float | None = None) -> HttpResponse:
    response = api.create_response(
        request, {"error": {"code": code, "message": message, "field": field}}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(max(1, int(retry_after + 0.999)))
    return response


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error_response(request, status=exc.http_status, code=exc.code, message=exc.message,
                          field=exc.field,
                          retry_after=exc.retry_after if isinstance(exc, RateLimited) else None)


@api.exception_handler(AuthenticationError)
def _no_key(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    missing = InvalidApiKey("Send your API key: Authorization: Bearer <key>, X-Api-Key, or "
                            "apikey=<key>.")
    return error_response(request, status=401, code=missing.code, message=missing.message)


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    location = [str(p) for p in first.get("loc", ()) if p not in ("query", "body", "path",
                                                                    "form", "file")]
    field = location[0] if location else None
    return error_response(request, status=400, code="invalid",
                          message=str(first.get("msg", "Invalid input.")), field=field)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error_response(request, status=exc.status_code, code="error", message=str(exc))


ERRORS: dict[int, type[Schema]] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut,
                                   429: ErrorOut}
ERRORS_404: dict[int, type[Schema]] = {**ERRORS, 404: ErrorOut}


# --- torrents ---------------------------------------------------------------------------

class CategoryOut(Schema):
    id: uuid.UUID = Field(description="What uploads, requests and collections take")
    slug: str
    name: str
    parent: str | None
    torznab_id: int = Field(description="Standard Torznab/newznab id (2000 Movies, ...)")
    site_id: int = Field(description="Site-specific Torznab id (from 100000)")


class TorrentOut(Schema):
    id: uuid.UUID
    name: str
    category: str
    category_name: str
    torznab_categories: list[int]
    info_hash_v1: str | None
    info_hash_v2: str | None
    version: str
    size: int
    file_count: int
    uploader: str | None = Field(description="null when anonymous or hidden by privacy")
    created_at: datetime
    status: str
    seeders: int
    leechers: int
    snatches: int
    freeleech: bool
    neutral_leech: bool
    double_upload: bool
    featured: bool
    download_factor: float = Field(description="What the tracker counts of your download: "
                                   "0 free (freeleech or your token), 1 all")
    upload_factor: float = Field(description="0 neutral, 1 normal, 2 double upload")
    tags: list[str]
    imdb_id: str | None = None
    tmdb_id: int | None = None
    tvdb_id: int | None = None
    details_url: str
    download_url: str


class TorrentPageOut(Schema):
    total: int = Field(description=f"Exact up to {TOTAL_MAX:,}; past that, counting stops and "
                                   "this is a lower bound (total_exact false): at least "
                                   "this many")
    total_exact: bool = Field(description="false: there are at least `total` results")
    page: int
    per_page: int
    results: list[TorrentOut]


class FileOut(Schema):
    index: int
    path: str
    size: int


class MetadataOut(Schema):
    year: int | None = None
    resolution: str = ""
    video_codec: str = ""
    audio_codec: str = ""
    source: str = ""
    container: str = ""
    release_group: str = ""
    hdr_format: str = ""
    languages: list[str] = []
    subtitles: list[str] = []
    runtime_minutes: int | None = None
    imdb_id: str = ""
    tmdb_id: int | None = None
    tvdb_id: int | None = None
    igdb_id: int | None = None
    musicbrainz_id: uuid.UUID | None = None


class TorrentDetailOut(TorrentOut):
    description: str
    metadata: MetadataOut | None
    files: list[FileOut]


class TorrentSearch(Schema):
    q: Text = Field("", max_length=200, description="Words, or a release name")
    category: Text = Field("", max_length=64, pattern=r"^[-a-zA-Z0-9_]*$",
                          description="A category slug (its subcategories included)")
    categories: list[Text] = Field([], max_length=30, description="Any of these slugs")
    torznab_categories: list[int] = Field(
        [], max_length=30, description="Any of these Torznab ids (standard or site)")
    tags: list[Text] = Field([], max_length=5)
    freeleech: bool = False
    doubleup: bool = False
    featured: bool = False
    uploader: Text = Field("", max_length=32)
    resolution: Text = Field("", max_length=16)
    source: Text = Field("", max_length=32)
    video_codec: Text = Field("", max_length=32)
    release_group: Text = Field("", max_length=64)
    imdb_id: Text = Field("", pattern=r"^((tt)?[0-9]{1,10})?$", description="tt0111161 or 111161")
    tmdb_id: int | None = Field(None, ge=1, le=2**31 - 1)
    tvdb_id: int | None = Field(None, ge=1, le=2**31 - 1)
    season: int | None = Field(None, ge=0, le=9999)
    episode: Text = Field("", max_length=16, description="An episode number, or MM/DD")
    status: Literal["", "pending", "approved", "rejected"] = Field(
        "", description="Moderators only (as on the browse page); ignored for others")
    sort: Literal["time", "size", "seeders", "leechers", "snatches", "relevance"] = "time"
    order: Literal["desc", "asc"] = "desc"
    page: int = Field(1, ge=1, le=100000)
    per_page: int = Field(25, ge=1, le=PER_PAGE_MAX)


def imdb_normalize(raw: str) -> str:
    digits = raw.strip().removeprefix("tt")
    return "tt" + digits.lstrip("0").zfill(7) if digits else ""


def _tags_clean(raw: list[str]) -> tuple[str, ...]:
    from domain.catalog.services import tag_normalize

    out = []
    for item in raw:
        for part in item.split(","):
            if part.strip():
                try:
                    out.append(tag_normalize(part))
                except ValidationFailed:
                    continue
    return tuple(out[:5])


def search_filters(search: TorrentSearch) -> BrowseFilters:
    slugs = list(search.categories)
    if search.torznab_categories:
        from_ids = cats.slugs_for_ids(search.torznab_categories, cats.mapped_categories())
        slugs += list(from_ids or ("-none-",))  # all unknown: nothing matches
    return BrowseFilters(
        q=search.q, category=search.category, categories=tuple(slugs),
        tags=_tags_clean(search.tags), freeleech=search.freeleech, uploader=search.uploader,
        metadata=tuple((name, getattr(search, name)) for name in METADATA_FILTERS),
        sort=search.sort if search.sort in SORTS or search.sort == "relevance" else "time",
        order=search.order, imdb_id=imdb_normalize(search.imdb_id), tmdb_id=search.tmdb_id,
        tvdb_id=search.tvdb_id, season=search.season, episode=search.episode,
        doubleup=search.doubleup, featured=search.featured, status=search.status)


def torrent_dict(request: HttpRequest, t: Torrent, *, factors: Any,
                 mapped: dict[str, cats.MappedCategory],
                 uploader_shown: bool | None = None) -> dict[str, Any]:
    stats = getattr(t, "statistics", None)
    meta = _metadata(t)
    m = mapped.get(t.category.slug)
    shown = getattr(t, "uploader_visible", False) if uploader_shown is None else uploader_shown
    f = factors[t.pk]
    return {
        "id": t.pk, "name": t.name, "category": t.category.slug,
        "category_name": str(t.category),
        "torznab_categories": [m.standard, m.site] if m else [],
        "info_hash_v1": bytes(t.info_hash_v1).hex() if t.info_hash_v1 else None,
        "info_hash_v2": bytes(t.info_hash_v2).hex() if t.info_hash_v2 else None,
        "version": t.version, "size": t.size, "file_count": t.file_count,
        "uploader": t.uploader.username if shown and t.uploader else None,
        "created_at": t.created_at, "status": t.status,
        "seeders": stats.seeders if stats else 0, "leechers": stats.leechers if stats else 0,
        "snatches": stats.snatches if stats else 0,
        "freeleech": t.is_freeleech, "neutral_leech": t.is_neutral_leech,
        "double_upload": t.is_double_upload, "featured": t.is_featured,
        "download_factor": f.download, "upload_factor": f.upload,
        "tags": catalog_selectors.tag_names(t),
        "imdb_id": (meta.imdb_id or None) if meta else None,
        "tmdb_id": meta.tmdb_id if meta else None, "tvdb_id": meta.tvdb_id if meta else None,
        "details_url": url_for(request, "torrents:detail", t.pk),
        "download_url": url_for(request, "api_v1:torrent_download", t.pk),
    }


_NO_ID = uuid.UUID(int=0)


def url_for(request: HttpRequest, name: str, pk: uuid.UUID) -> str:
    """request.build_absolute_uri(reverse(name, args=[pk])), resolved once per request and
    name: a page of 100 rows otherwise spends more on reverse() than on its query."""
    cache: dict[str, str] = request.__dict__.setdefault("_api_url_templates", {})
    template = cache.get(name)
    if template is None:
        template = cache[name] = request.build_absolute_uri(reverse(name, args=[_NO_ID]))
    return template.replace(str(_NO_ID), str(pk))


def _metadata(t: Torrent) -> Any:
    try:
        return t.metadata
    except Torrent.metadata.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
        return None


@api.get("/torrents", response={200: TorrentPageOut, **ERRORS}, tags=["torrents"],
         summary="Search and filter torrents (scope: search)")
def torrents_list(request: HttpRequest, search: Query[TorrentSearch]) -> Any:
    caller = caller_of(request, ApiKeyScope.SEARCH)
    filters = search_filters(search)
    found = catalog_selectors.torrents_search(
        user=caller.user, filters=filters, offset=(search.page - 1) * search.per_page,
        limit=search.per_page, count_limit=TOTAL_MAX)
    mapped = cats.mapped_by_slug()
    factors = factors_for(user_id=caller.user.pk, torrents=list(found.items))
    page = {"total": found.total, "total_exact": found.exact, "page": search.page,
            "per_page": search.per_page,
            "results": [torrent_dict(request, t, factors=factors, mapped=mapped)
                        for t in found.items]}
    # Rendered as it stands, not validated against TorrentPageOut first: the dicts are
    # built in the schema's shape and types (tests/frontend/api/test_v1.py checks the
    # bytes are what validation gives), and ninja's validation of 100 rows through its
    # attribute getters cost more than building them.
    return api.create_response(request, page, status=200)


@api.get("/torrents/{torrent_id}", response={200: TorrentDetailOut, **ERRORS_404},
         tags=["torrents"], summary="A torrent with its files (scope: search)")
def torrent_detail(request: HttpRequest, torrent_id: uuid.UUID) -> Any:
    caller = caller_of(request, ApiKeyScope.SEARCH)
    page = catalog_selectors.torrent_page(user=caller.user, torrent_id=torrent_id)
    t = page.torrent
    factors = factors_for(user_id=caller.user.pk, torrents=[t])
    out = torrent_dict(request, t, factors=factors, mapped=cats.mapped_by_slug(),
                       uploader_shown=page.uploader is not None)
    meta = _metadata(t)
    out.update(
        description=t.description,
        metadata=({name: getattr(meta, name) for name in MetadataOut.model_fields}
                  if meta is not None else None),
        files=[{"index": f.file_index, "path": f.path, "size": f.size} for f in page.files])
    return out


TORRENT_FILE = {"content": {"application/x-bittorrent": {
    "schema": {"type": "string", "format": "binary"}}}, "description": "The .torrent file"}


@api.get("/torrents/{torrent_id}/download", response={**ERRORS_404}, tags=["torrents"],
         url_name="torrent_download",
         summary="Your .torrent, with your passkey (scope: download)",
         openapi_extra={"responses": {"200": TORRENT_FILE}})
def torrent_download(request: HttpRequest, torrent_id: uuid.UUID) -> Any:
    caller = caller_of(request, ApiKeyScope.DOWNLOAD)
    limit_hit(scope="download", ident=str(caller.key.pk), limit=settings.API_DOWNLOADS_PER_KEY)
    result = catalog_services.torrent_download(user=caller.user, torrent_id=torrent_id)
    response = HttpResponse(result.content, content_type="application/x-bittorrent")
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    return response


class UploadIn(Schema):
    category: uuid.UUID = Field(description="A category id (GET /categories)")
    title: Text = Field("", max_length=255)
    description: Text = Field("", max_length=65536)
    is_anonymous: bool = False
    tags: Text = Field("", max_length=500, description="Comma separated")
    imdb_id: Text = Field("", max_length=16)
    tmdb_id: int | None = Field(None, ge=1, le=2**31 - 1)
    tvdb_id: int | None = Field(None, ge=1, le=2**31 - 1)
    year: int | None = Field(None, ge=1870, le=2200)
    resolution: Text = Field("", max_length=16)
    source: Text = Field("", max_length=32)
    video_codec: Text = Field("", max_length=32)
    release_group: Text = Field("", max_length=64)


class UploadOut(Schema):
    id: uuid.UUID
    name: str
    status: str
    details_url: str


@api.post("/torrents", response={201: UploadOut, **ERRORS}, tags=["torrents"],
          summary="Upload a .torrent (multipart; scope: upload)")
def torrent_upload(request: HttpRequest, data: Form[UploadIn],
                   torrent_file: File[UploadedFile]) -> Any:
    """Validated by the upload page's own form, so the API accepts exactly what it does."""
    from frontend.torrents.forms import UploadForm

    caller = caller_of(request, ApiKeyScope.UPLOAD)
    if (torrent_file.size or 0) > settings.TORRENT_UPLOAD_MAX_BYTES:
        raise ValidationFailed(f"The .torrent file is larger than "
                               f"{settings.TORRENT_UPLOAD_MAX_BYTES} bytes.",
                               field="torrent_file")
    fields = {k: ("" if v is None else ("on" if v is True else v))
              for k, v in data.dict().items() if v is not False}
    form = UploadForm({k: str(v) for k, v in fields.items()}, {"torrent_file": torrent_file})
    if not form.is_valid():
        name, errors = next(iter(form.errors.items()))
        raise ValidationFailed(str(errors[0]), field=None if name == "__all__" else name)
    torrent = catalog_services.torrent_upload(
        uploader=caller.user, data=form.cleaned_data["torrent_file"],
        category_id=form.cleaned_data["category"].pk, title=form.cleaned_data["title"],
        description=form.cleaned_data["description"],
        is_anonymous=form.cleaned_data["is_anonymous"], metadata=form.metadata(),
        tags=form.tag_list())
    return 201, {"id": torrent.pk, "name": torrent.name, "status": torrent.status,
                 "details_url": request.build_absolute_uri(
                     reverse("torrents:detail", args=[torrent.pk]))}


@api.get("/categories", response={200: list[CategoryOut], **ERRORS}, tags=["torrents"],
         summary="Categories with their Torznab ids (scope: search)")
def categories(request: HttpRequest) -> Any:
    caller_of(request, ApiKeyScope.SEARCH)
    rows = catalog_selectors.categories_tree()
    mapped = cats.mapped_by_slug()
    return [{"id": c.pk, "slug": c.slug, "name": str(c),
             "parent": c.parent.slug if c.parent else None,
             "torznab_id": mapped[c.slug].standard, "site_id": mapped[c.slug].site}
            for c in rows if c.slug in mapped]


# --- the member -------------------------------------------------------------------------

class HitAndRunsOut(Schema):
    active: int = Field(description="Hit-and-runs counting against you now")
    prewarned: int = Field(description="Downloads you were warned to seed")
    limit: int = Field(description="At this many active ones, downloading stops")
    downloads_allowed: bool
    immune_class: bool


class RatioWatchOut(Schema):
    required_ratio: Decimal
    on_watch: bool
    deadline_at: datetime | None
    leech_disabled: bool
    immune: bool


class MeOut(Schema):
    id: uuid.UUID
    username: str
    group: str
    uploaded: int = Field(description="Credited upload, bytes")
    downloaded: int = Field(description="Credited download, bytes")
    ratio: float | None = Field(description="null before any download")
    bonus_points: Decimal
    seeding: int
    leeching: int
    seeding_size: int
    snatched: int
    uploads: int
    seedtime_seconds: int
    freeleech_tokens: int = Field(description="Unused freeleech tokens")
    hit_and_runs: HitAndRunsOut
    ratio_watch: RatioWatchOut


@api.get("/me", response={200: MeOut, **ERRORS}, tags=["account"],
         summary="Your account: bytes as integers, ratio, bonus (scope: account)")
def me(request: HttpRequest) -> Any:
    caller = caller_of(request, ApiKeyScope.ACCOUNT)
    user = caller.user
    from domain.accounts.selectors import profile_for_viewer

    profile = profile_for_viewer(user, user.username)
    stats = getattr(profile.member, "statistics", None) or UserStatistics(user=user)
    tokens = bonus_selectors.tokens_for_user(user_id=user.pk).filter(
        status=TokenStatus.AVAILABLE).count()
    return {"id": user.pk, "username": user.username, "group": user.group.display_name,
            "uploaded": stats.uploaded, "downloaded": stats.downloaded, "ratio": stats.ratio,
            "bonus_points": bonus_selectors.bonus_balance(user_id=user.pk),
            "seeding": stats.seeding_count, "leeching": stats.leeching_count,
            "seeding_size": stats.seeding_size, "snatched": stats.snatched_count,
            "uploads": stats.uploads_count, "seedtime_seconds": stats.seedtime_seconds,
            "freeleech_tokens": tokens, "hit_and_runs": hnr_dict(user.pk),
            "ratio_watch": ratio_watch_dict(user.pk)}


def hnr_dict(user_id: uuid.UUID) -> dict[str, Any]:
    from domain.tracker.hnr import member_hnr_status

    status = member_hnr_status(user_id=user_id)
    return {"active": status.active, "prewarned": status.prewarned, "limit": status.limit,
            "downloads_allowed": status.downloads_allowed,
            "immune_class": status.immune_class}


def ratio_watch_dict(user_id: uuid.UUID) -> dict[str, Any]:
    from domain.tracker.ratiowatch import member_ratio_watch_status

    watch = member_ratio_watch_status(user_id=user_id)
    return {"required_ratio": watch.required, "on_watch": watch.on_watch,
            "deadline_at": watch.deadline_at, "leech_disabled": watch.leech_disabled,
            "immune": watch.immune}


class SeedOwedOut(Schema):
    state: str = Field(description="not counted, immune, settled, seeding, owed, "
                                   "pre-warned, hit-and-run, cleared; or never announced")
    seed_seconds_owed: int = Field(description="Seed time still needed (0: nothing owed)")
    upload_bytes_owed: int = Field(description="Or this much upload, to reach the ratio")
    minimum_seed_seconds: int
    minimum_ratio: float


@api.get("/torrents/{torrent_id}/hit-and-run", response={200: SeedOwedOut, **ERRORS_404},
         tags=["account"],
         summary="What you still owe on a torrent before it is a hit-and-run "
                 "(scope: account)")
def torrent_hit_and_run(request: HttpRequest, torrent_id: uuid.UUID) -> Any:
    from domain.tracker.hnr import torrent_seed_owed

    caller = caller_of(request, ApiKeyScope.ACCOUNT)
    # The torrent must be one the member may see (NotFound otherwise), as on its page.
    catalog_selectors.torrent_page(user=caller.user, torrent_id=torrent_id)
    owed = torrent_seed_owed(user_id=caller.user.pk, torrent_id=torrent_id)
    return {"state": owed.state if owed else "never announced",
            "seed_seconds_owed": owed.seed_seconds_owed if owed else 0,
            "upload_bytes_owed": owed.upload_bytes_owed if owed else 0,
            "minimum_seed_seconds": int(float(settings.HNR_SEED_HOURS) * 3600),
            "minimum_ratio": float(settings.HNR_RATIO)}


class NotificationOut(Schema):
    id: uuid.UUID
    kind: str
    title: str
    body: str
    url: str
    created_at: datetime
    read: bool


class NotificationPageOut(Schema):
    total: int
    unread: int
    page: int
    results: list[NotificationOut]


@api.get("/notifications", response={200: NotificationPageOut, **ERRORS},
         tags=["account"], summary="Your notifications, newest first (scope: account)")
def notifications(request: HttpRequest, page: Query[int] = 1) -> Any:  # type: ignore[type-arg]
    caller = caller_of(request, ApiKeyScope.ACCOUNT)
    if not 1 <= page <= 100000:
        raise ValidationFailed("page is between 1 and 100000.", field="page")
    result = community_selectors.notifications_page(caller.user, page)
    return {"total": result.paginator.count, "page": result.number,
            "unread": community_services.notifications_unread_count(user_id=caller.user.pk),
            "results": [{"id": n.pk, "kind": n.kind, "title": n.title, "body": n.body,
                         "url": n.url, "created_at": n.created_at,
                         "read": n.read_at is not None} for n in result.object_list]}


class MarkReadIn(Schema):
    id: uuid.UUID | None = Field(None, description="One notification; none: all of them")


class MarkedOut(Schema):
    marked: int


@api.post("/notifications/read", response={200: MarkedOut, **ERRORS_404}, tags=["account"],
          summary="Mark one or all notifications read (scope: account)")
def notifications_read(request: HttpRequest, body: MarkReadIn) -> Any:
    caller = caller_of(request, ApiKeyScope.ACCOUNT)
    return {"marked": community_services.notifications_mark_read(
        user=caller.user, notification_id=body.id)}


class BonusOut(Schema):
    balance: Decimal
    token_price: Decimal
    tokens_max_per_purchase: int
    tokens_available: int
    tokens_active: int


@api.get("/bonus", response={200: BonusOut, **ERRORS}, tags=["account"],
         summary="Your bonus balance and tokens (scope: account)")
def bonus(request: HttpRequest) -> Any:
    caller = caller_of(request, ApiKeyScope.ACCOUNT)
    prices = bonus_selectors.store_prices()
    tokens = list(bonus_selectors.tokens_for_user(user_id=caller.user.pk)
                  .values_list("status", flat=True))
    return {"balance": bonus_selectors.bonus_balance(user_id=caller.user.pk),
            "token_price": prices.token, "tokens_max_per_purchase": prices.token_max_per_purchase,
            "tokens_available": tokens.count(TokenStatus.AVAILABLE),
            "tokens_active": tokens.count(TokenStatus.ACTIVE)}


class BuyTokensIn(Schema):
    quantity: int = Field(1, ge=1, le=1000)


class BoughtOut(Schema):
    bought: int
    balance: Decimal


@api.post("/bonus/tokens", response={200: BoughtOut, **ERRORS}, tags=["account"],
          summary="Buy freeleech tokens with bonus points (scope: account)")
def bonus_buy_tokens(request: HttpRequest, body: BuyTokensIn) -> Any:
    caller = caller_of(request, ApiKeyScope.ACCOUNT)
    tokens = bonus_services.bonus_buy_tokens(user=caller.user, quantity=body.quantity)
    return {"bought": len(tokens),
            "balance": bonus_selectors.bonus_balance(user_id=caller.user.pk)}


# --- requests ---------------------------------------------------------------------------

class RequestOut(Schema):
    id: uuid.UUID
    title: str
    category: str
    status: str
    bounty_total: Decimal
    vote_count: int
    requester: str | None
    created_at: datetime
    filled_at: datetime | None
    filled_torrent_id: uuid.UUID | None
    requirements: dict[str, Any]
    details_url: str


class RequestPageOut(Schema):
    total: int
    page: int
    per_page: int
    results: list[RequestOut]


class VoterOut(Schema):
    username: str | None = Field(description="null when hidden by the voter's privacy")
    amount: Decimal


class RequestDetailOut(RequestOut):
    description: str
    filler: str | None
    voters: list[VoterOut]
    my_bounty: Decimal
    min_bounty: Decimal


class RequestSearch(Schema):
    q: Text = Field("", max_length=200)
    category: Text = Field("", max_length=64, pattern=r"^[-a-zA-Z0-9_]*$")
    status: Literal["", "open", "filled"] = ""
    bounty_min: Decimal | None = Field(None, ge=0, le=10**12, decimal_places=2)
    bounty_max: Decimal | None = Field(None, ge=0, le=10**12, decimal_places=2)
    external_id: Text = Field("", max_length=64, description="tt0111161, a TMDB id, ...")
    requester: Text = Field("", max_length=32)
    sort: Literal["bounty", "votes", "created", "filled", "title"] = "created"
    order: Literal["desc", "asc"] = "desc"
    page: int = Field(1, ge=1, le=100000)
    per_page: int = Field(25, ge=1, le=PER_PAGE_MAX)


def request_dict(request: HttpRequest, r: Any) -> dict[str, Any]:
    return {"id": r.pk, "title": r.title, "category": r.category.slug, "status": r.status,
            "bounty_total": r.bounty_total, "vote_count": r.vote_count,
            "requester": r.requester.username if r.requester else None,
            "created_at": r.created_at, "filled_at": r.filled_at,
            "filled_torrent_id": r.filled_torrent_id, "requirements": r.requirements or {},
            "details_url": request.build_absolute_uri(
                reverse("requests:detail", args=[r.pk]))}


@api.get("/requests", response={200: RequestPageOut, **ERRORS}, tags=["requests"],
         summary="Search requests (scope: search)")
def requests_list(request: HttpRequest, search: Query[RequestSearch]) -> Any:
    caller = caller_of(request, ApiKeyScope.SEARCH)
    filters = request_selectors.RequestFilters(
        q=search.q, category=search.category, status=search.status,
        bounty_min=search.bounty_min, bounty_max=search.bounty_max,
        external_id=search.external_id, requester=search.requester, sort=search.sort,
        order=search.order)
    page = request_selectors.requests_browse(user=caller.user, filters=filters,
                                             page=search.page, per_page=search.per_page)
    beyond = search.page > page.paginator.num_pages  # get_page clamps; an API does not
    return {"total": page.paginator.count, "page": search.page, "per_page": search.per_page,
            "results": [] if beyond else [request_dict(request, r) for r in page.object_list]}


@api.get("/requests/{request_id}", response={200: RequestDetailOut, **ERRORS_404},
         tags=["requests"], summary="A request with its voters (scope: search)")
def request_detail(request: HttpRequest, request_id: uuid.UUID) -> Any:
    caller = caller_of(request, ApiKeyScope.SEARCH)
    page = request_selectors.request_page(user=caller.user, request_id=request_id)
    out = request_dict(request, page.request)
    out.update(description=page.request.description,
               filler=page.filler.username if page.filler else None,
               voters=[{"username": v.user.username if v.user else None, "amount": v.amount}
                       for v in page.voters],
               my_bounty=page.my_bounty, min_bounty=page.min_bounty)
    return out


class RequestIn(Schema):
    category: uuid.UUID
    title: Text = Field(max_length=255)
    bounty: Decimal = Field(ge=0, le=10**12, decimal_places=2)
    description: Text = Field("", max_length=65536)
    requirements: dict[str, Any] = Field({}, description="resolution, source, imdb_id, ...")


@api.post("/requests", response={201: RequestOut, **ERRORS}, tags=["requests"],
          summary="File a request with your first bounty (scope: account)")
def request_create(request: HttpRequest, body: RequestIn) -> Any:
    caller = caller_of(request, ApiKeyScope.ACCOUNT)
    made = request_services.request_create(
        requester=caller.user, category_id=body.category, title=body.title,
        bounty=body.bounty, description=body.description, requirements=body.requirements)
    return 201, request_dict(request, made)


class VoteIn(Schema):
    amount: Decimal = Field(ge=0, le=10**12, decimal_places=2)


class VoteOut(Schema):
    bounty_total: Decimal
    my_bounty: Decimal


@api.post("/requests/{request_id}/vote", response={200: VoteOut, **ERRORS_404, 409: ErrorOut},
          tags=["requests"], summary="Add bounty to a request (scope: account)")
def request_vote(request: HttpRequest, request_id: uuid.UUID, body: VoteIn) -> Any:
    caller = caller_of(request, ApiKeyScope.ACCOUNT)
    request_services.request_vote(user=caller.user, request_id=request_id, amount=body.amount)
    page = request_selectors.request_page(user=caller.user, request_id=request_id)
    return {"bounty_total": page.request.bounty_total, "my_bounty": page.my_bounty}


class FillIn(Schema):
    torrent: uuid.UUID = Field(description="The id of the torrent that fills it")


@api.post("/requests/{request_id}/fill",
          response={200: RequestOut, **ERRORS_404, 409: ErrorOut}, tags=["requests"],
          summary="Fill a request with a torrent; the bounty is yours (scope: upload)")
def request_fill(request: HttpRequest, request_id: uuid.UUID, body: FillIn) -> Any:
    caller = caller_of(request, ApiKeyScope.UPLOAD)
    filled = request_services.request_fill(filler=caller.user, request_id=request_id,
                                           torrent=body.torrent)
    return request_dict(request, filled)


# --- collections ------------------------------------------------------------------------

class CollectionOut(Schema):
    id: uuid.UUID
    name: str
    collection_type: str
    category: str | None
    owner: str | None = Field(description="null when hidden by the owner's privacy")
    is_public: bool
    is_featured: bool
    item_count: int
    subscriber_count: int
    updated_at: datetime
    details_url: str


class CollectionPageOut(Schema):
    total: int
    page: int
    per_page: int
    results: list[CollectionOut]


class CollectionItemOut(Schema):
    torrent_id: uuid.UUID
    name: str
    size: int
    seeders: int
    note: str
    position: int


class CollectionDetailOut(CollectionOut):
    description: str
    subscribed: bool
    items: list[CollectionItemOut]
    can_manage: bool = Field(description="You may edit it, remove and reorder torrents "
                                         "(its owner, or staff)")
    can_add: bool = Field(description="You may add torrents (also any member who may "
                                      "create collections, on an unlocked public theme, "
                                      "series, discography or label collection)")


class CollectionSearch(Schema):
    q: Text = Field("", max_length=200)
    collection_type: Literal["", "personal", "theme", "series", "discography", "label",
                             "staff_picks"] = ""
    category: Text = Field("", max_length=64, pattern=r"^[-a-zA-Z0-9_]*$")
    owner: Text = Field("", max_length=32)
    sort: Literal["updated", "name", "items", "subscribers", "created"] = "updated"
    page: int = Field(1, ge=1, le=100000)
    per_page: int = Field(25, ge=1, le=PER_PAGE_MAX)


def collection_dict(request: HttpRequest, c: Any, *, owner_shown: bool) -> dict[str, Any]:
    return {"id": c.pk, "name": c.name, "collection_type": c.collection_type,
            "category": c.category.slug if c.category else None,
            "owner": c.owner.username if owner_shown and c.owner else None,
            "is_public": c.is_public, "is_featured": c.is_featured,
            "item_count": c.item_count, "subscriber_count": c.subscriber_count,
            "updated_at": c.updated_at,
            "details_url": request.build_absolute_uri(
                reverse("collections:detail", args=[c.pk]))}


@api.get("/collections", response={200: CollectionPageOut, **ERRORS}, tags=["collections"],
         summary="Browse and search collections (scope: search)")
def collections_list(request: HttpRequest, search: Query[CollectionSearch]) -> Any:
    caller = caller_of(request, ApiKeyScope.SEARCH)
    filters = collection_selectors.CollectionFilters(
        q=search.q, collection_type=search.collection_type, category=search.category,
        owner=search.owner, sort=search.sort)
    page = collection_selectors.collections_browse(user=caller.user, filters=filters,
                                                   page=search.page, per_page=search.per_page)
    beyond = search.page > page.paginator.num_pages
    return {"total": page.paginator.count, "page": search.page, "per_page": search.per_page,
            "results": [] if beyond else [
                collection_dict(request, c, owner_shown=not getattr(c, "owner_hidden", True))
                for c in page.object_list]}


@api.get("/collections/{collection_id}", response={200: CollectionDetailOut, **ERRORS_404},
         tags=["collections"], summary="A collection with its torrents (scope: search)")
def collection_detail(request: HttpRequest, collection_id: uuid.UUID) -> Any:
    caller = caller_of(request, ApiKeyScope.SEARCH)
    return collection_detail_dict(request, caller, collection_id)


def collection_detail_dict(request: HttpRequest, caller: ApiCaller,
                           collection_id: uuid.UUID) -> dict[str, Any]:
    page = collection_selectors.collection_page(user=caller.user, collection_id=collection_id)
    out = collection_dict(request, page.collection, owner_shown=page.owner is not None)
    out.update(description=page.collection.description, subscribed=page.subscribed,
               items=[{"torrent_id": line.item.torrent_id, "name": line.item.torrent.name,
                       "size": line.item.torrent.size,
                       "seeders": getattr(getattr(line.item.torrent, "statistics", None),
                                          "seeders", 0),
                       "note": line.item.note, "position": line.item.position}
                      for line in page.items],
               can_manage=page.can_manage, can_add=page.can_add)
    return out


class SubscribeIn(Schema):
    subscribe: bool = True


class SubscribedOut(Schema):
    subscribed: bool


@api.post("/collections/{collection_id}/subscribe",
          response={200: SubscribedOut, **ERRORS_404}, tags=["collections"],
          summary="Follow or stop following a collection (scope: account)")
def collection_subscribe(request: HttpRequest, collection_id: uuid.UUID,
                         body: SubscribeIn) -> Any:
    caller = caller_of(request, ApiKeyScope.ACCOUNT)
    return {"subscribed": collection_services.collection_subscribe(
        user=caller.user, collection_id=collection_id, subscribe=body.subscribe)}


# Writes: the collection services the pages call, with their permission rules (the owner
# and staff curate; on an unlocked public theme, series, discography or label collection,
# any member who may create collections adds torrents). A private collection the key's
# member may not see answers 404 to a write as to a read.

CollectionKind = Literal["personal", "theme", "series", "discography", "label", "staff_picks"]


class CollectionIn(Schema):
    name: Text = Field(min_length=1, max_length=255)
    description: Text = Field("", max_length=20000)
    collection_type: CollectionKind = Field("personal", description="staff_picks: staff only")
    category: uuid.UUID | None = Field(None, description="A category id (GET /categories)")
    is_public: bool = True


@api.post("/collections", response={201: CollectionDetailOut, **ERRORS}, tags=["collections"],
          summary="Start a collection (scope: account; your class may create collections)")
def collection_create(request: HttpRequest, body: CollectionIn) -> Any:
    caller = caller_of(request, ApiKeyScope.ACCOUNT)
    made = collection_services.collection_create(
        owner=caller.user, name=body.name, description=body.description,
        collection_type=body.collection_type, category_id=body.category,
        is_public=body.is_public)
    return 201, collection_detail_dict(request, caller, made.pk)


class CollectionEditIn(Schema):
    name: Text | None = Field(None, min_length=1, max_length=255)
    description: Text | None = Field(None, max_length=20000)
    collection_type: CollectionKind | None = None
    category: uuid.UUID | None = Field(None, description="A category id; see clear_category")
    clear_category: bool = Field(False, description="Remove the category")
    is_public: bool | None = None
    is_locked: bool | None = Field(None, description="Locked: only the owner and staff add")


@api.patch("/collections/{collection_id}",
           response={200: CollectionDetailOut, **ERRORS_404}, tags=["collections"],
           summary="Change a collection; fields left out stay (scope: account; owner or "
                   "staff)")
def collection_edit(request: HttpRequest, collection_id: uuid.UUID,
                    body: CollectionEditIn) -> Any:
    from domain.errors import NotFound

    caller = caller_of(request, ApiKeyScope.ACCOUNT)
    current = (collection_selectors.collections_visible(caller.user)
               .filter(pk=collection_id).first())
    if current is None:
        raise NotFound("That collection does not exist or was deleted.")
    category = None if body.clear_category else (body.category or current.category_id)
    collection_services.collection_edit(
        actor=caller.user, collection_id=collection_id,
        name=current.name if body.name is None else body.name,
        description=current.description if body.description is None else body.description,
        collection_type=body.collection_type or current.collection_type,
        category_id=category,
        is_public=current.is_public if body.is_public is None else body.is_public,
        is_locked=body.is_locked, ip_address=client_ip(request))
    return collection_detail_dict(request, caller, collection_id)


class CollectionDeleteIn(Schema):
    reason: Text = Field(min_length=1, max_length=500)


class DeletedOut(Schema):
    deleted: bool


@api.post("/collections/{collection_id}/delete",
          response={200: DeletedOut, **ERRORS_404}, tags=["collections"],
          summary="Delete a collection (scope: account; owner or staff; audited)")
def collection_delete(request: HttpRequest, collection_id: uuid.UUID,
                      body: CollectionDeleteIn) -> Any:
    caller = caller_of(request, ApiKeyScope.ACCOUNT)
    collection_services.collection_delete(actor=caller.user, collection_id=collection_id,
                                          reason=body.reason, ip_address=client_ip(request))
    return {"deleted": True}


class CollectionAddIn(Schema):
    torrent: uuid.UUID = Field(description="An approved torrent's id")
    note: Text = Field("", max_length=255)


@api.post("/collections/{collection_id}/torrents",
          response={201: CollectionItemOut, **ERRORS_404}, tags=["collections"],
          summary="Add a torrent at the end (scope: account; see can_add)")
def collection_add(request: HttpRequest, collection_id: uuid.UUID,
                   body: CollectionAddIn) -> Any:
    caller = caller_of(request, ApiKeyScope.ACCOUNT)
    item = collection_services.collection_torrent_add(
        actor=caller.user, collection_id=collection_id, torrent=str(body.torrent),
        note=body.note)
    t = item.torrent
    stats = getattr(t, "statistics", None)
    return 201, {"torrent_id": t.pk, "name": t.name, "size": t.size,
                 "seeders": stats.seeders if stats else 0, "note": item.note,
                 "position": item.position}


@api.delete("/collections/{collection_id}/torrents/{torrent_id}",
            response={204: None, **ERRORS_404}, tags=["collections"],
            summary="Remove a torrent (scope: account; owner or staff)")
def collection_remove(request: HttpRequest, collection_id: uuid.UUID,
                      torrent_id: uuid.UUID) -> Any:
    caller = caller_of(request, ApiKeyScope.ACCOUNT)
    collection_services.collection_torrent_remove(
        actor=caller.user, collection_id=collection_id, torrent_id=torrent_id)
    return 204, None


class CollectionOrderIn(Schema):
    torrents: list[uuid.UUID] = Field(max_length=5000,
                                      description="Every torrent of the collection, once, "
                                                  "in the new order")


@api.put("/collections/{collection_id}/torrents",
         response={200: CollectionDetailOut, **ERRORS_404}, tags=["collections"],
         summary="Reorder the torrents (scope: account; owner or staff)")
def collection_reorder(request: HttpRequest, collection_id: uuid.UUID,
                       body: CollectionOrderIn) -> Any:
    caller = caller_of(request, ApiKeyScope.ACCOUNT)
    collection_services.collection_reorder(actor=caller.user, collection_id=collection_id,
                                           torrent_ids=list(body.torrents))
    return collection_detail_dict(request, caller, collection_id)
