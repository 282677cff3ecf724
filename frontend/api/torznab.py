"""Torznab at /api/torznab for Prowlarr, Sonarr, Radarr and Jackett-style clients.

`t=caps` says what works; `t=search|tvsearch|movie|music|book` answers RSS 2.0 with the
torznab attributes those clients read (shared/AUTOMATION.md); the enclosure downloads with
the key alone. Searches go through domain.catalog.selectors.torrents_search, the same
selector as the browse page, so visibility and paranoia are the page's.

Errors are `<error code=".." description=".."/>` with HTTP 200, as newznab servers answer and
as the clients parse them (100-199 read as "Invalid API key"); the request limit is code 500
with HTTP 429 and Retry-After, which Prowlarr and cross-seed back off on.
"""

from __future__ import annotations

import re
import uuid
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree import ElementTree as ET

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from domain.accounts.apikeys import (
    AccountSuspended,
    ApiCaller,
    InvalidApiKey,
    ScopeMissing,
)
from domain.accounts.models import ApiKeyScope
from domain.catalog import services as catalog_services
from domain.catalog.models import Torrent
from domain.catalog.selectors import BrowseFilters, tag_names, torrents_search
from domain.catalog.torrentfile import announce_url
from domain.errors import DomainError, NotFound, NotPermitted, RateLimited, ValidationFailed
from domain.tracker.factors import factors_for, global_freeleech, torrent_is_freeleech
from frontend.accounts.middleware import client_ip
from frontend.api import categories as cats
from frontend.api.auth import api_caller, key_from_request
from frontend.api.limits import limit_hit
from frontend.api.v1 import url_for

NS_TORZNAB = "http://torznab.com/schemas/2015/feed"
NS_NEWZNAB = "http://www.newznab.com/DTD/2010/feeds/attributes/"
NS_ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("torznab", NS_TORZNAB)
ET.register_namespace("newznab", NS_NEWZNAB)
ET.register_namespace("atom", NS_ATOM)

LIMIT_DEFAULT = 100
# newznab:response total is exact up to here (clients page on full pages, not on it, and
# Sonarr stops at 1,000 results); past it the count, not the page, was most of the cost.
TOTAL_MAX = 1_000
LIMIT_MAX = 100
FUNCTIONS = ("search", "tvsearch", "movie", "music", "book")
# What each function filters on; caps advertises exactly these.
SUPPORTED = {
    "search": "q",
    "tv-search": "q,season,ep,imdbid,tvdbid,tmdbid",
    "movie-search": "q,imdbid,tmdbid",
    "music-search": "q",
    "audio-search": "q",
    "book-search": "q",
}
TAGS = {"freeleech": "Download not counted", "doubleupload": "Upload counted twice",
        "neutral": "Neither download nor upload counted", "internal": "Internal release",
        "scene": "Scene release"}
IMDB_RE = re.compile(r"^(?:tt)?([0-9]{1,10})$")


class TorznabError(Exception):
    def __init__(self, code: int, description: str, *, status: int = 200,
                 retry_after: float | None = None):
        super().__init__(description)
        self.code, self.description = code, description
        self.status, self.retry_after = status, retry_after


def _from_domain(exc: DomainError) -> TorznabError:
    if isinstance(exc, RateLimited):
        return TorznabError(500, "Request limit reached", status=429,
                            retry_after=exc.retry_after)
    if isinstance(exc, InvalidApiKey):
        return TorznabError(100, "Incorrect user credentials")
    if isinstance(exc, AccountSuspended):
        return TorznabError(101, f"Account suspended: {exc.message}")
    if isinstance(exc, ScopeMissing | NotPermitted):
        return TorznabError(102, f"Insufficient privileges: {exc.message}")
    if isinstance(exc, NotFound):
        return TorznabError(300, "No such item")
    if isinstance(exc, ValidationFailed):
        return TorznabError(201, f"Incorrect parameter: {exc.message}")
    return TorznabError(900, exc.message)


def _xml(root: ET.Element, *, status: int = 200) -> HttpResponse:
    # Serialized to text, then encoded: the same bytes as tostring(encoding="utf-8") (no
    # declaration of its own there either; xmlcharrefreplace as its writer has), without
    # a TextIOWrapper between the serializer and the buffer, which a 100-item feed's
    # eleven thousand writes went through one by one.
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(
        root, encoding="unicode").encode("utf-8", "xmlcharrefreplace")
    return HttpResponse(body, status=status, content_type="application/xml; charset=utf-8")


def error_response(error: TorznabError) -> HttpResponse:
    root = ET.Element("error", code=str(error.code), description=error.description)
    response = _xml(root, status=error.status)
    if error.retry_after is not None:
        response["Retry-After"] = str(max(1, int(error.retry_after + 0.999)))
    return response


def _int(request: HttpRequest, name: str, *, minimum: int = 0) -> int | None:
    raw = request.GET.get(name, "").strip()
    if raw == "":
        return None
    if not raw.isdigit() or len(raw) > 12 or int(raw) < minimum:
        raise TorznabError(201, f"Incorrect parameter: {name} must be an integer >= {minimum}")
    value = int(raw)
    if value > 2**31 - 1:
        raise TorznabError(201, f"Incorrect parameter: {name} is too large")
    return value


def _imdb(request: HttpRequest) -> str:
    raw = request.GET.get("imdbid", "").strip()
    if not raw:
        return ""
    match = IMDB_RE.match(raw)
    if match is None:
        raise TorznabError(201, "Incorrect parameter: imdbid is tt1234567 or 1234567")
    # Radarr sends the digits without the leading zeros' guarantee; ours are tt + >= 7.
    return "tt" + match.group(1).lstrip("0").zfill(7)


def _categories(request: HttpRequest) -> list[int]:
    ids = []
    for part in request.GET.get("cat", "").split(","):
        part = part.strip()
        if part.isdigit() and len(part) <= 9:
            ids.append(int(part))
    return ids


def _text(request: HttpRequest, name: str) -> str:
    value = request.GET.get(name, "")
    if "\x00" in value:  # PostgreSQL text cannot hold it
        raise TorznabError(201, f"Incorrect parameter: {name} contains a NUL character")
    return value


def _query(request: HttpRequest, function: str) -> str:
    words = [_text(request, "q")]
    if function == "music":
        words += [_text(request, n) for n in ("artist", "album", "track")]
    elif function == "book":
        words += [_text(request, n) for n in ("author", "title")]
    return " ".join(w.strip() for w in words if w and w.strip())[:200]


def _filters(request: HttpRequest, function: str,
             mapped: list[cats.MappedCategory]) -> BrowseFilters | None:
    """The search as BrowseFilters, or None when the categories asked for are all unknown
    (nothing can match)."""
    slugs = cats.slugs_for_ids(_categories(request), mapped)
    if slugs == ():
        return None
    tv = function == "tvsearch"
    season = _int(request, "season") if tv else None
    episode = _text(request, "ep").strip()[:16] if tv else ""
    movie_or_tv = function in ("tvsearch", "movie")
    return BrowseFilters(
        q=_query(request, function), categories=slugs or (), sort="time", order="desc",
        imdb_id=_imdb(request) if movie_or_tv else "",
        tmdb_id=_int(request, "tmdbid", minimum=1) if movie_or_tv else None,
        tvdb_id=_int(request, "tvdbid", minimum=1) if tv else None,
        season=season, episode=episode)


@require_safe
def torznab(request: HttpRequest) -> HttpResponse:
    try:
        function = request.GET.get("t", "").strip()
        if not function:
            raise TorznabError(200, "Missing parameter (t)")
        if function == "caps":
            # No key needed (what works is no secret), but the address's budget counts.
            try:
                limit_hit(scope="ip", ident=client_ip(request) or "unknown",
                          limit=settings.API_RATE_PER_IP)
            except DomainError as exc:
                raise _from_domain(exc) from None
            return _caps(request)
        if function not in FUNCTIONS:
            raise TorznabError(202, f"No such function ({function[:20]})")
        try:
            caller = api_caller(request)
            caller.require(ApiKeyScope.SEARCH)
        except DomainError as exc:
            raise _from_domain(exc) from None
        return _search(request, caller, function)
    except TorznabError as error:
        return error_response(error)


def _caps(request: HttpRequest) -> HttpResponse:
    root = ET.Element("caps")
    ET.SubElement(root, "server", title=settings.SITE_NAME,
                  url=request.build_absolute_uri("/"))
    ET.SubElement(root, "limits", default=str(LIMIT_DEFAULT), max=str(LIMIT_MAX))
    searching = ET.SubElement(root, "searching")
    for tag, params in SUPPORTED.items():
        ET.SubElement(searching, tag, available="yes", supportedParams=params)
    categories = ET.SubElement(root, "categories")
    mapped = cats.mapped_categories()
    # Standard parents with their standard subcategories, then ours (site-specific).
    standard: dict[int, set[int]] = {}
    for m in mapped:
        standard.setdefault(m.standard_parent, set())
        if m.standard != m.standard_parent:
            standard[m.standard_parent].add(m.standard)
    for parent in sorted(standard):
        element = ET.SubElement(categories, "category", id=str(parent),
                                name=cats.STANDARD_NAMES.get(parent, str(parent)))
        for sub in sorted(standard[parent]):
            ET.SubElement(element, "subcat", id=str(sub),
                          name=cats.STANDARD_NAMES.get(sub, str(sub)))
    by_parent: dict[str | None, list[cats.MappedCategory]] = {}
    for m in mapped:
        by_parent.setdefault(m.parent_slug, []).append(m)
    for top in by_parent.get(None, []):
        element = ET.SubElement(categories, "category", id=str(top.site), name=top.name)
        for child in by_parent.get(top.slug, []):
            ET.SubElement(element, "subcat", id=str(child.site), name=child.name)
    tags = ET.SubElement(root, "tags")
    for name, description in TAGS.items():
        ET.SubElement(tags, "tag", name=name, description=description)
    return _xml(root)


def _download_url(request: HttpRequest, torrent_id: uuid.UUID, token: str) -> str:
    return f"{url_for(request, 'api:torznab_download', torrent_id)}?" \
        f"{urlencode({'apikey': token})}"


def _magnet(torrent: Torrent, passkey: str) -> str:
    parts = []
    if torrent.info_hash_v1:
        parts.append(f"xt=urn:btih:{bytes(torrent.info_hash_v1).hex()}")
    if torrent.info_hash_v2:
        parts.append(f"xt=urn:btmh:1220{bytes(torrent.info_hash_v2).hex()}")
    parts.append(f"dn={quote(torrent.name)}")
    parts.append(f"tr={quote(announce_url(passkey), safe='')}")
    return "magnet:?" + "&".join(parts)


def _attr(item: ET.Element, name: str, value: Any) -> None:
    ET.SubElement(item, f"{{{NS_TORZNAB}}}attr", name=name, value=str(value))


def _search(request: HttpRequest, caller: ApiCaller, function: str) -> HttpResponse:
    limit = _int(request, "limit")
    limit = LIMIT_DEFAULT if limit is None else min(limit, LIMIT_MAX)
    offset = _int(request, "offset") or 0
    mapped = cats.mapped_categories()
    filters = _filters(request, function, mapped)
    if filters is None:
        items: list[Torrent] = []
        total = 0
    else:
        found = torrents_search(user=caller.user, filters=filters, offset=offset,
                                limit=limit, count_limit=TOTAL_MAX)
        items, total = found.items, found.total
    by_slug = {m.slug: m for m in mapped}
    factors = factors_for(user_id=caller.user.pk, torrents=list(items))
    # The enclosure carries the key it was found with: a download client has no other.
    token = key_from_request(request)
    may_download = caller.has(ApiKeyScope.DOWNLOAD)

    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, f"{{{NS_ATOM}}}link", href=request.build_absolute_uri(),
                  rel="self", type="application/rss+xml")
    ET.SubElement(channel, "title").text = settings.SITE_NAME
    ET.SubElement(channel, "description").text = f"{settings.SITE_NAME} Torznab feed"
    ET.SubElement(channel, "link").text = request.build_absolute_uri("/")
    ET.SubElement(channel, f"{{{NS_NEWZNAB}}}response", offset=str(offset), total=str(total))
    now_dt = timezone.now()
    rules = _seeding_rules()
    site_free = global_freeleech() if items else False
    for t in items:
        item = ET.SubElement(channel, "item")
        details = url_for(request, "torrents:detail", t.pk)
        download = _download_url(request, t.pk, token)
        ET.SubElement(item, "title").text = t.name
        ET.SubElement(item, "guid", isPermaLink="true").text = details
        ET.SubElement(item, "link").text = download
        ET.SubElement(item, "comments").text = details
        ET.SubElement(item, "pubDate").text = format_datetime(t.created_at, usegmt=True)
        ET.SubElement(item, "size").text = str(t.size)
        m = by_slug.get(t.category.slug)
        ET.SubElement(item, "description").text = str(t.category)
        if m is not None:
            ET.SubElement(item, "category").text = str(m.standard)
            ET.SubElement(item, "category").text = str(m.site)
        ET.SubElement(item, "enclosure", url=download, length=str(t.size),
                      type="application/x-bittorrent")
        if m is not None:
            _attr(item, "category", m.standard)
            _attr(item, "category", m.site)
        _attr(item, "size", t.size)
        stats = getattr(t, "statistics", None)
        seeders = stats.seeders if stats else 0
        leechers = stats.leechers if stats else 0
        _attr(item, "seeders", seeders)
        _attr(item, "leechers", leechers)
        _attr(item, "peers", seeders + leechers)
        _attr(item, "grabs", stats.snatches if stats else 0)
        _attr(item, "files", t.file_count)
        hashes = [bytes(h).hex() for h in (t.info_hash_v1, t.info_hash_v2) if h]
        _attr(item, "infohash", hashes[0])
        if may_download:
            _attr(item, "magneturl", _magnet(t, caller.user.passkey))
        f = factors[t.pk]
        _attr(item, "downloadvolumefactor", _factor(f.download))
        _attr(item, "uploadvolumefactor", _factor(f.upload))
        for tag in _tags(t, site_free=site_free, now=now_dt):
            _attr(item, "tag", tag)
        meta = _metadata(t)
        if meta is not None:
            if meta.imdb_id:
                _attr(item, "imdb", meta.imdb_id[2:])
                _attr(item, "imdbid", meta.imdb_id)
            if meta.tmdb_id:
                _attr(item, "tmdbid", meta.tmdb_id)
            if meta.tvdb_id:
                _attr(item, "tvdbid", meta.tvdb_id)
            if meta.languages:
                _attr(item, "language", meta.languages[0])
            if meta.year:
                _attr(item, "year", meta.year)
            cover = (meta.extra or {}).get("cover_url") if isinstance(meta.extra, dict) else None
            if isinstance(cover, str) and cover.startswith(("https://", "http://")):
                _attr(item, "coverurl", cover)
        for name, value in rules:
            _attr(item, name, value)
    return _xml(rss)


def _factor(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _metadata(t: Torrent) -> Any:
    try:
        return t.metadata
    except Torrent.metadata.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
        return None


def _tags(t: Torrent, *, site_free: bool, now: Any) -> list[str]:
    out = []
    if t.is_neutral_leech:
        out.append("neutral")
    elif site_free or torrent_is_freeleech(t, now):
        out.append("freeleech")
    if t.is_double_upload and not t.is_neutral_leech:
        out.append("doubleupload")
    names = set(tag_names(t))
    out += [name for name in ("internal", "scene") if name in names]
    return out


def _seeding_rules() -> list[tuple[str, Any]]:
    """minimumratio / minimumseedtime (seconds) from the hit-and-run settings: a download
    is settled by either (domain/tracker/hnr.py)."""
    return [("minimumratio", _factor(float(settings.HNR_RATIO))),
            ("minimumseedtime", int(float(settings.HNR_SEED_HOURS) * 3600))]


@require_safe
def download(request: HttpRequest, torrent_id: uuid.UUID) -> HttpResponse:
    """The member's .torrent for a Torznab enclosure: the key alone authorizes it."""
    try:
        caller = api_caller(request)
        caller.require(ApiKeyScope.DOWNLOAD)
        limit_hit(scope="download", ident=str(caller.key.pk),
                  limit=settings.API_DOWNLOADS_PER_KEY)
        result = catalog_services.torrent_download(user=caller.user, torrent_id=torrent_id)
    except DomainError as exc:
        error = _from_domain(exc)
        if isinstance(exc, RateLimited):
            error = TorznabError(501, "Download limit reached", status=429,
                                 retry_after=exc.retry_after)
        # A failed download is not a feed: say it with the HTTP status too, so a client
        # does not store the error body as a .torrent.
        error.status = error.status if error.status != 200 else {
            100: 401, 101: 403, 102: 403, 300: 404}.get(error.code, 400)
        return error_response(error)
    response = HttpResponse(result.content, content_type="application/x-bittorrent")
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    return response
