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
from ninja import File, Form, NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.files import UploadedFile
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
from frontend.api.v1 import TOTAL_MAX, ErrorOut, Text, imdb_normalize, url_for


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


class ErrorsOut(ErrorOut):
    """Ours (`error`: a stable code) and UNIT3D's (`success`, `message`, `data`) at once,
    so a UNIT3D tool reads its keys and a script ours."""

    success: Literal[False]
    message: str
    data: dict[str, list[str]] | None = Field(None, description="field: [messages]")


ERRORS: dict[int, type[Schema]] = {400: ErrorsOut, 401: ErrorsOut, 403: ErrorsOut,
                                   429: ErrorsOut}
ERRORS_404: dict[int, type[Schema]] = {**ERRORS, 404: ErrorsOut}


def _error(request: HttpRequest, *, status: int, code: str, message: str,
           field: str | None = None, retry_after: float | None = None) -> HttpResponse:
    body = {"success": False, "message": message,
            "data": {field: [message]} if field else None,
            "error": {"code": code, "message": message, "field": field}}
    response = api.create_response(request, body, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(max(1, int(retry_after + 0.999)))
    return response


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, status=exc.http_status, code=exc.code, message=exc.message,
                  field=exc.field,
                  retry_after=exc.retry_after if isinstance(exc, RateLimited) else None)


@api.exception_handler(AuthenticationError)
def _no_key(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, status=401, code=InvalidApiKey.code,
                  message="Unauthenticated: send Authorization: Bearer <key>.")


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    location = [str(p) for p in first.get("loc", ())
                if p not in ("query", "path", "form", "file")]
    return _error(request, status=400, code="invalid",
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
    total: int = Field(description=f"Ours (UNIT3D has none): exact up to {TOTAL_MAX:,}, past "
                                   "that a lower bound (total_exact false)")
    total_exact: bool


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
    names = set(catalog_selectors.tag_names(t))
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
        "details_link": url_for(request, "torrents:detail", t.pk),
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
                                              offset=(f.page - 1) * f.perPage, limit=f.perPage,
                                              count_limit=TOTAL_MAX)
    files = catalog_selectors.torrent_files_for(torrent_ids=[t.pk for t in found.items])
    factors = factors_for(user_id=caller.user.pk, torrents=list(found.items))
    mapped = cats.mapped_by_slug()
    last = max(1, -(-found.total // f.perPage))
    count = len(found.items)
    more = f.page < last or (not found.exact and count == f.perPage)
    return {
        "data": [_data(request, caller, t, factors=factors, files=files[t.pk], mapped=mapped,
                       uploader_shown=bool(getattr(t, "uploader_visible", False)))
                 for t in found.items],
        # Past the counting cap the last page is not known (null), as Laravel's simple
        # paginator says it; `next` is there while pages are full.
        "links": {"first": _page_url(request, 1),
                  "last": _page_url(request, last) if found.exact else None,
                  "prev": _page_url(request, f.page - 1) if f.page > 1 else None,
                  "next": _page_url(request, f.page + 1) if more else None,
                  "self": _page_url(request, f.page)},
        "meta": {"current_page": f.page, "per_page": f.perPage,
                 "from": found.offset + 1 if count else None,
                 "to": found.offset + count if count else None, "total": found.total,
                 "total_exact": found.exact},
    }


@api.get("/torrents/filter", response={200: TorrentList, **ERRORS}, by_alias=True,
         summary="UNIT3D's torrent filter (scope: search)")
def torrents_filter(request: HttpRequest, f: Query[FilterIn]) -> Any:
    return _rendered(request, _list(request, f))


@api.get("/torrents", response={200: TorrentList, **ERRORS}, by_alias=True,
         summary="The latest torrents; Cardigann's login check (scope: search)")
def torrents_latest(request: HttpRequest, page: int = Query(1, ge=1, le=100000),
                    perPage: int = Query(25, ge=1, le=100)) -> Any:
    return _rendered(request, _list(request, FilterIn.model_validate(
        {"page": page, "perPage": perPage})))


def _rendered(request: HttpRequest, page: dict[str, Any]) -> HttpResponse:
    # Rendered as it stands, not validated against TorrentList first: _list builds the
    # schema's shape, keys (by alias: "from") and types (tests/frontend/api/test_unit3d.py
    # checks the bytes are what validation gives), and ninja's validation of 100 rows
    # through its attribute getters cost more than building them (as API v1's list).
    return api.create_response(request, page, status=200)


# --- upload: UNIT3D's field names onto our upload page's form and service ---------------
# UNIT3D's POST api/torrents/upload (multipart) as upload tools send it: `torrent` (the
# file), `name`, `description`, `category_id`, `type_id`, `resolution_id`, `imdb`, `tmdb`,
# `tvdb`, `igdb`, `mal` (0: none), `anonymous`, `keywords`, `mediainfo`, `bdinfo`, `nfo`
# (a file), `season_number`, `episode_number`, and the staff flags. Ids that are each
# UNIT3D site's own (type, resolution) map through UNIT3D's default tables or take the
# name itself; category_id is our site-specific Torznab id (GET /api/v1/categories).

# UNIT3D's default types and resolutions (its database seeders), as our metadata text.
TYPE_IDS = {1: "Full Disc", 2: "Remux", 3: "Encode", 4: "WEB-DL", 5: "WEBRip", 6: "HDTV",
            7: "FLAC", 8: "ALAC", 9: "AC3", 10: "AAC", 11: "MP3", 12: "Mac", 13: "Windows"}
RESOLUTION_IDS = {1: "4320p", 2: "2160p", 3: "1080p", 4: "1080i", 5: "720p", 6: "576p",
                  7: "576i", 8: "480p", 9: "480i", 10: ""}
NFO_MAX = 64 * 1024
# Our form's field names back to UNIT3D's, for errors a UNIT3D tool can place.
FIELD_NAMES = {"torrent_file": "torrent", "title": "name", "category": "category_id",
               "is_anonymous": "anonymous", "tags": "keywords", "imdb_id": "imdb",
               "tmdb_id": "tmdb", "tvdb_id": "tvdb", "igdb_id": "igdb", "source": "type_id",
               "resolution": "resolution_id"}
Flag = Literal["0", "1", "true", "false", "on", "off", ""]


class UploadIn(Schema):
    name: Text = Field("", max_length=255, description="The title; empty: the torrent's name")
    description: Text = Field("", max_length=65536)
    category_id: int = Field(ge=1, le=2**31 - 1,
                             description="Our site-specific Torznab id (GET /api/v1/"
                                         "categories: site_id); a standard id only when "
                                         "it names one category")
    type_id: Text = Field("", max_length=32, description="UNIT3D's default type id (4: "
                                                        "WEB-DL, ...) or the name itself")
    resolution_id: Text = Field("", max_length=16, description="UNIT3D's default id (3: "
                                                              "1080p, ...) or the name")
    imdb: Text = Field("", pattern=r"^((tt)?[0-9]{1,10})?$", description="0: none")
    tmdb: int = Field(0, ge=0, le=2**31 - 1, description="0: none")
    tvdb: int = Field(0, ge=0, le=2**31 - 1, description="0: none")
    igdb: int = Field(0, ge=0, le=2**31 - 1, description="0: none")
    mal: int = Field(0, ge=0, le=2**31 - 1, description="Kept with the metadata")
    season_number: int | None = Field(None, ge=0, le=9999, description="Kept with the "
                                                                      "metadata")
    episode_number: int | None = Field(None, ge=0, le=99999, description="Kept with the "
                                                                        "metadata")
    anonymous: Flag = Field("0", description="1: upload anonymously")
    keywords: Text = Field("", max_length=500, description="Comma separated: our tags")
    mediainfo: Text = Field("", max_length=200_000, description="Kept with the metadata")
    bdinfo: Text = Field("", max_length=200_000, description="Kept with the metadata")
    region_id: int | None = Field(None, description="Accepted and ignored")
    distributor_id: int | None = Field(None, description="Accepted and ignored")
    stream: Flag = Field("0", description="Accepted and ignored")
    sd: Flag = Field("0", description="Accepted and ignored")
    personal_release: Flag = Field("0", description="Accepted and ignored")
    internal: Flag = Field("0", description="Ignored: staff set flags on the torrent page")
    featured: Flag = Field("0", description="Ignored: staff set flags on the torrent page")
    free: Text = Field("0", max_length=3, description="Ignored: staff set freeleech")
    doubleup: Flag = Field("0", description="Ignored: staff set flags on the torrent page")
    sticky: Flag = Field("0", description="Ignored: staff set flags on the torrent page")


class UploadOut(Schema):
    success: Literal[True]
    data: str = Field(description="The .torrent's download link (works with the key alone "
                                  "when it has the download scope), as UNIT3D answers")
    message: str
    id: uuid.UUID
    status: str = Field(description="approved, or pending: waiting for moderation")
    details_link: str


def _one_category(category_id: int) -> uuid.UUID:
    from domain.errors import ValidationFailed

    rows = [(c.pk, cats.category_mapped(c)) for c in catalog_selectors.categories_tree()]
    by_site = [pk for pk, m in rows if m.site == category_id]
    by_standard = [pk for pk, m in rows if m.standard == category_id]
    found = by_site or (by_standard if len(by_standard) == 1 else [])
    if not found:
        raise ValidationFailed("No such category: send its site_id from GET "
                               "/api/v1/categories.", field="category_id")
    return found[0]


def _named(raw: str, table: dict[int, str]) -> str:
    raw = raw.strip()
    if raw.isdigit():
        return table.get(int(raw), "")
    return raw


def _flag(value: str) -> bool:
    return value in ("1", "true", "on")


def _nfo_text(nfo: UploadedFile | None) -> str:
    from domain.errors import ValidationFailed

    if nfo is None:
        return ""
    if (nfo.size or 0) > NFO_MAX:
        raise ValidationFailed(f"The NFO is larger than {NFO_MAX} bytes.", field="nfo")
    raw = nfo.read(NFO_MAX + 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp437")  # NFOs are DOS art; every byte decodes
    return text.replace("\x00", "")


@api.post("/torrents/upload", response={200: UploadOut, **ERRORS},
          summary="UNIT3D's upload (multipart, UNIT3D's field names; scope: upload)")
def upload(request: HttpRequest, data: Form[UploadIn], torrent: File[UploadedFile],
           nfo: File[UploadedFile | None] = None) -> Any:
    """Validated by our upload page's form and stored by its service, so this accepts
    exactly what the page does; what UNIT3D has and we do not (mediainfo, bdinfo, the
    NFO, MAL id, season and episode) is kept in the torrent's metadata `extra`."""
    from django.conf import settings

    from domain.catalog import services as catalog_services
    from domain.errors import ValidationFailed
    from frontend.torrents.forms import UploadForm

    caller: ApiCaller = request.auth  # type: ignore[attr-defined]
    caller.require(ApiKeyScope.UPLOAD)
    if (torrent.size or 0) > settings.TORRENT_UPLOAD_MAX_BYTES:
        raise ValidationFailed(f"The .torrent file is larger than "
                               f"{settings.TORRENT_UPLOAD_MAX_BYTES} bytes.", field="torrent")
    imdb_digits = data.imdb.removeprefix("tt").lstrip("0")
    fields = {
        "title": data.name, "description": data.description,
        "category": str(_one_category(data.category_id)),
        "source": _named(data.type_id, TYPE_IDS),
        "resolution": _named(data.resolution_id, RESOLUTION_IDS),
        "imdb_id": "tt" + imdb_digits.zfill(7) if imdb_digits else "",
        "tmdb_id": str(data.tmdb or ""), "tvdb_id": str(data.tvdb or ""),
        "igdb_id": str(data.igdb or ""),
        "tags": ",".join(k.strip() for k in data.keywords.split(",") if k.strip()),
    }
    if _flag(data.anonymous):
        fields["is_anonymous"] = "on"
    form = UploadForm(fields, {"torrent_file": torrent})
    if not form.is_valid():
        name, errors = next(iter(form.errors.items()))
        raise ValidationFailed(str(errors[0]),
                               field=None if name == "__all__" else FIELD_NAMES.get(name, name))
    extra = {k: v for k, v in (
        ("mediainfo", data.mediainfo), ("bdinfo", data.bdinfo), ("nfo", _nfo_text(nfo)),
        ("mal_id", data.mal or None), ("season_number", data.season_number),
        ("episode_number", data.episode_number)) if v not in ("", None)}
    try:
        made = catalog_services.torrent_upload(
            uploader=caller.user, data=form.cleaned_data["torrent_file"],
            category_id=form.cleaned_data["category"].pk, title=form.cleaned_data["title"],
            description=form.cleaned_data["description"],
            is_anonymous=form.cleaned_data["is_anonymous"],
            metadata={**form.metadata(), "extra": extra}, tags=form.tag_list())
    except DomainError as exc:
        exc.field = FIELD_NAMES.get(exc.field or "", exc.field)
        raise
    from frontend.api.torznab import _download_url

    return {"success": True, "data": _download_url(request, made.pk, _key(request)),
            "message": "Torrent uploaded successfully.", "id": made.pk, "status": made.status,
            "details_link": request.build_absolute_uri(
                reverse("torrents:detail", args=[made.pk]))}


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
