"""UNIT3D's API shape at /api/torrents/filter, /api/torrents, /api/torrents/{id} and
/api/user, so the Prowlarr/Jackett Cardigann definitions written for UNIT3D sites work
against us by changing their base URL (shared/AUTOMATION.md section 2).

Same keys (`Authorization: Bearer`, or the legacy `api_token=`), same search selector as
the pages and the JSON API; its own OpenAPI document at /api/unit3d/openapi.json.

What does not map: UNIT3D's category, type and resolution ids are each site's own
integers; ours are the site-specific Torznab ids (GET /api/v1/categories, from 100000),
so a definition's category table must be replaced, as for any other UNIT3D site. Lists
leave `description` empty (100 descriptions of up to 64 KiB each would dominate a page;
api/torrents/{id} has it). Filters
we have no data for (genres, startYear/endYear, alive/dying/dead, file_name) are accepted
and ignored, which widens the result rather than failing the definition.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import APIKeyQuery, HttpBearer
from pydantic import Field

from domain.accounts.apikeys import ApiCaller, InvalidApiKey
from domain.accounts.models import ApiKeyScope, UserStatistics
from domain.catalog import selectors as catalog_selectors
from domain.catalog.models import Torrent
from domain.catalog.selectors import BrowseFilters
from domain.errors import DomainError, RateLimited
from domain.tracker.factors import factors_for
from frontend.api import categories as cats
from frontend.api.auth import api_caller
from frontend.api.v1 import (
    ERRORS,
    ERRORS_404,
    Text,
    error_response,
    imdb_normalize,
)


class _BearerKey(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiCaller:
        return api_caller(request)


class _TokenQuery(APIKeyQuery):
    param_name = "api_token"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiCaller | None:
        return api_caller(request) if key else None


class _PhpLists(Parser):
    """UNIT3D is PHP: its clients send lists as `categories[]=1&categories[]=2`."""

    def parse_querydict(self, data: MultiValueDict, list_fields: list[str],
                        request: HttpRequest) -> dict[str, Any]:
        if any(key.endswith("[]") for key in data):
            merged: MultiValueDict[str, Any] = MultiValueDict()
            for key in data:
                merged.setlistdefault(key.removesuffix("[]"), []).extend(data.getlist(key))
            data = merged
        return super().parse_querydict(data, list_fields, request)


api = NinjaAPI(title="UNIT3D-compatible API", version="1", urls_namespace="api_unit3d",
               description="UNIT3D's torrent API shape, for Cardigann definitions.",
               auth=[_BearerKey(), _TokenQuery()], docs_url=None, parser=_PhpLists(),
               openapi_url="/unit3d/openapi.json")


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error_response(request, status=exc.http_status, code=exc.code, message=exc.message,
                          field=exc.field,
                          retry_after=exc.retry_after if isinstance(exc, RateLimited) else None)


@api.exception_handler(AuthenticationError)
def _no_key(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, status=401, code=InvalidApiKey.code,
                          message="Unauthenticated: send Authorization: Bearer <key>.")


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    location = [str(p) for p in first.get("loc", ()) if p not in ("query", "path")]
    return error_response(request, status=400, code="invalid",
                          message=str(first.get("msg", "Invalid input.")),
                          field=location[0] if location else None)


class FileOut(Schema):
    index: int
    name: str
    size: int


class Attributes(Schema):
    name: str
    category: str
    category_id: int
    type: str
    resolution: str
    description: str
    info_hash: str
    size: int
    num_file: int
    files: list[FileOut]
    freeleech: str = Field(description="0% or 100%: what the tracker will not count")
    double_upload: bool
    internal: bool
    featured: bool
    uploader: str
    seeders: int
    leechers: int
    times_completed: int
    tmdb_id: int
    imdb_id: int
    tvdb_id: int
    created_at: datetime
    download_link: str
    magnet_link: str | None
    details_link: str


class TorrentData(Schema):
    type: Literal["torrent"]
    id: str
    attributes: Attributes


class Links(Schema):
    first: str
    last: str | None
    prev: str | None
    next: str | None
    self: str


class Meta(Schema):
    current_page: int
    per_page: int
    from_: int | None = Field(alias="from")
    to: int | None
    total: int


class TorrentList(Schema):
    data: list[TorrentData]
    links: Links
    meta: Meta


class TorrentOne(Schema):
    data: TorrentData


SORT_FIELDS = {"size": "size", "seeders": "seeders", "leechers": "leechers",
               "times_completed": "snatches", "created_at": "time", "bumped_at": "time",
               "name": "time"}


class FilterIn(Schema):
    name: Text = Field("", max_length=200)
    description: Text = Field("", max_length=200)
    keywords: Text = Field("", max_length=300, description="Comma separated tags")
    uploader: Text = Field("", max_length=32)
    categories: list[int] = Field([], max_length=30,
                                  description="Site-specific or standard Torznab ids")
    types: list[Text] = Field([], max_length=10, description="Sources: WEB-DL, BluRay...")
    resolutions: list[Text] = Field([], max_length=10)
    genres: list[Text] = Field([], max_length=10, description="Accepted and ignored")
    seasonNumber: int | None = Field(None, ge=0, le=9999)
    episodeNumber: int | None = Field(None, ge=0, le=99999)
    imdbId: Text = Field("", pattern=r"^((tt)?[0-9]{1,10})?$")
    tmdbId: int | None = Field(None, ge=1, le=2**31 - 1)
    tvdbId: int | None = Field(None, ge=1, le=2**31 - 1)
    free: list[int] = Field([], max_length=5, description="100: freeleech only")
    doubleup: bool = False
    featured: bool = False
    internal: bool = False
    startYear: int | None = Field(None, description="Accepted and ignored")
    endYear: int | None = Field(None, description="Accepted and ignored")
    alive: bool = False
    dying: bool = False
    dead: bool = False
    file_name: Text = Field("", max_length=200, description="Accepted and ignored")
    sortField: Literal["name", "size", "seeders", "leechers", "times_completed",
                       "created_at", "bumped_at"] = "bumped_at"
    sortDirection: Literal["asc", "desc"] = "desc"
    perPage: int = Field(25, ge=1, le=100)
    page: int = Field(1, ge=1, le=100000)


def _filters(f: FilterIn) -> BrowseFilters:
    from domain.catalog.services import tag_normalize
    from domain.errors import ValidationFailed

    slugs: tuple[str, ...] = ()
    if f.categories:
        slugs = cats.slugs_for_ids(f.categories, cats.mapped_categories()) or ("-none-",)
    tags: list[str] = []
    for part in f.keywords.split(","):
        if part.strip():
            try:
                tags.append(tag_normalize(part))
            except ValidationFailed:
                continue
    if f.internal:
        tags.append("internal")
    words = " ".join(w for w in (f.name.strip(), f.description.strip()) if w)
    return BrowseFilters(
        q=words[:200], categories=slugs, tags=tuple(tags[:5]), freeleech=bool(f.free),
        uploader=f.uploader, doubleup=f.doubleup, featured=f.featured,
        metadata=(("source", f.types[0] if f.types else ""),
                  ("resolution", f.resolutions[0] if f.resolutions else "")),
        sort=SORT_FIELDS[f.sortField], order=f.sortDirection,
        imdb_id=imdb_normalize(f.imdbId), tmdb_id=f.tmdbId, tvdb_id=f.tvdbId,
        season=f.seasonNumber,
        episode=str(f.episodeNumber) if f.episodeNumber is not None else "")


def _data(request: HttpRequest, caller: ApiCaller, t: Torrent, *, factors: Any,
          files: list[Any], mapped: dict[str, cats.MappedCategory],
          uploader_shown: bool, description: str = "") -> dict[str, Any]:
    from frontend.api.torznab import _download_url, _magnet

    stats = getattr(t, "statistics", None)
    try:
        meta = t.metadata
    except Torrent.metadata.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
        meta = None
    m = mapped.get(t.category.slug)
    token = _key(request)
    names = {a.tag.name for a in t.tag_assignments.all()}
    hashes = [bytes(h).hex() for h in (t.info_hash_v1, t.info_hash_v2) if h]
    return {"type": "torrent", "id": str(t.pk), "attributes": {
        "name": t.name, "category": str(t.category), "category_id": m.site if m else 0,
        "type": meta.source if meta else "", "resolution": meta.resolution if meta else "",
        "description": description, "info_hash": hashes[0], "size": t.size,
        "num_file": t.file_count,
        "files": [{"index": f.file_index, "name": f.path, "size": f.size} for f in files],
        "freeleech": "100%" if factors[t.pk].download == 0 else "0%",
        "double_upload": factors[t.pk].upload == 2, "internal": "internal" in names,
        "featured": t.is_featured,
        "uploader": t.uploader.username if uploader_shown and t.uploader else "Anonymous",
        "seeders": stats.seeders if stats else 0, "leechers": stats.leechers if stats else 0,
        "times_completed": stats.snatches if stats else 0,
        "tmdb_id": (meta.tmdb_id or 0) if meta else 0,
        "imdb_id": int(meta.imdb_id[2:]) if meta and meta.imdb_id else 0,
        "tvdb_id": (meta.tvdb_id or 0) if meta else 0,
        "created_at": t.created_at,
        "download_link": _download_url(request, t.pk, token),
        "magnet_link": (_magnet(t, caller.user.passkey)
                        if caller.has(ApiKeyScope.DOWNLOAD) else None),
        "details_link": request.build_absolute_uri(reverse("torrents:detail", args=[t.pk])),
    }}


def _key(request: HttpRequest) -> str:
    from frontend.api.auth import key_from_request

    return key_from_request(request)


def _page_url(request: HttpRequest, page: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    for secret in ("api_token", "apikey"):
        query.pop(secret, None)
    return request.build_absolute_uri(f"{request.path}?{urlencode(query, doseq=True)}")


def _list(request: HttpRequest, f: FilterIn) -> dict[str, Any]:
    caller: ApiCaller = request.auth  # type: ignore[attr-defined]
    caller.require(ApiKeyScope.SEARCH)
    found = catalog_selectors.torrents_search(user=caller.user, filters=_filters(f),
                                              offset=(f.page - 1) * f.perPage, limit=f.perPage)
    files = catalog_selectors.torrent_files_for(torrent_ids=[t.pk for t in found.items])
    factors = factors_for(user_id=caller.user.pk, torrents=list(found.items))
    mapped = cats.mapped_by_slug()
    last = max(1, -(-found.total // f.perPage))
    count = len(found.items)
    return {
        "data": [_data(request, caller, t, factors=factors, files=files[t.pk], mapped=mapped,
                       uploader_shown=bool(getattr(t, "uploader_visible", False)))
                 for t in found.items],
        "links": {"first": _page_url(request, 1), "last": _page_url(request, last),
                  "prev": _page_url(request, f.page - 1) if f.page > 1 else None,
                  "next": _page_url(request, f.page + 1) if f.page < last else None,
                  "self": _page_url(request, f.page)},
        "meta": {"current_page": f.page, "per_page": f.perPage,
                 "from": found.offset + 1 if count else None,
                 "to": found.offset + count if count else None, "total": found.total},
    }


@api.get("/torrents/filter", response={200: TorrentList, **ERRORS}, by_alias=True,
         summary="UNIT3D's torrent filter (scope: search)")
def torrents_filter(request: HttpRequest, f: Query[FilterIn]) -> Any:
    return _list(request, f)


@api.get("/torrents", response={200: TorrentList, **ERRORS}, by_alias=True,
         summary="The latest torrents; Cardigann's login check (scope: search)")
def torrents_latest(request: HttpRequest, page: int = Query(1, ge=1, le=100000),
                    perPage: int = Query(25, ge=1, le=100)) -> Any:
    return _list(request, FilterIn.model_validate({"page": page, "perPage": perPage}))


@api.get("/torrents/{torrent_id}", response={200: TorrentOne, **ERRORS_404}, by_alias=True,
         summary="One torrent (scope: search)")
def torrent_one(request: HttpRequest, torrent_id: uuid.UUID) -> Any:
    caller: ApiCaller = request.auth  # type: ignore[attr-defined]
    caller.require(ApiKeyScope.SEARCH)
    page = catalog_selectors.torrent_page(user=caller.user, torrent_id=torrent_id)
    t = page.torrent
    factors = factors_for(user_id=caller.user.pk, torrents=[t])
    return {"data": _data(request, caller, t, factors=factors, files=page.files[:100],
                          mapped=cats.mapped_by_slug(), description=t.description,
                          uploader_shown=page.uploader is not None)}


class UserOut(Schema):
    username: str
    group: str
    uploaded: str
    downloaded: str
    ratio: str
    seeding: int
    leeching: int
    seedbonus: str
    hit_and_runs: int
    uploaded_bytes: int
    downloaded_bytes: int


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.2f} {unit}"
        value /= 1024
    return f"{value:.2f} TiB"


@api.get("/user", response={200: UserOut, **ERRORS},
         summary="UNIT3D's api/user (formatted sizes, plus bytes; scope: account)")
def user(request: HttpRequest) -> Any:
    caller: ApiCaller = request.auth  # type: ignore[attr-defined]
    caller.require(ApiKeyScope.ACCOUNT)
    from domain.accounts.selectors import profile_for_viewer
    from domain.tracker.hnr import member_hnr_status

    member = profile_for_viewer(caller.user, caller.user.username).member
    stats = getattr(member, "statistics", None) or UserStatistics(user=member)
    ratio = stats.ratio
    return {"username": member.username, "group": member.group.display_name,
            "uploaded": _size(stats.uploaded), "downloaded": _size(stats.downloaded),
            "ratio": "∞" if ratio is None else f"{ratio:.2f}",
            "seeding": stats.seeding_count, "leeching": stats.leeching_count,
            "seedbonus": f"{member.bonus_points:.2f}",
            "hit_and_runs": member_hnr_status(user_id=member.pk).active,
            "uploaded_bytes": stats.uploaded, "downloaded_bytes": stats.downloaded}
