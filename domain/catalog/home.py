"""What the home page shows of the catalog: featured, freeleech and latest torrents, the
week's top torrents and the site's figures. The same for every member who may see the
catalog (approved torrents only, no uploader named), so it is read once per
HOME_CACHE_SECONDS for everyone from the cache rather than per page view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.utils import timezone

from domain.accounts.models import User, UserStatus
from domain.catalog.models import (
    SiteStatisticsDaily,
    Top10Board,
    Top10Entry,
    Top10Period,
    Torrent,
    TorrentStatus,
)

HOME_CACHE_SECONDS = 60
HOME_CACHE_KEY = "home:catalog:v1"
LIST_SIZE = 8
LATEST_SIZE = 10


@dataclass
class SiteFigures:
    members: int = 0
    torrents: int = 0
    seeders: int = 0
    leechers: int = 0
    transferred: int = 0
    active_today: int = 0


@dataclass
class CatalogHome:
    featured: list[Torrent] = field(default_factory=list)
    freeleech: list[Torrent] = field(default_factory=list)
    latest: list[Torrent] = field(default_factory=list)
    top_week: list[Top10Entry] = field(default_factory=list)
    top_week_title: str = ""
    figures: SiteFigures = field(default_factory=SiteFigures)


def _listed() -> Any:
    return (Torrent.objects.filter(status=TorrentStatus.APPROVED, deleted_at__isnull=True)
            .select_related("category", "category__parent", "statistics")
            .defer("info_dict", "search_vector", "description"))


def _figures() -> SiteFigures:
    """The latest daily snapshot (statistics beat job); live counts before the first."""
    snap = SiteStatisticsDaily.objects.order_by("-day").first()
    if snap is not None:
        return SiteFigures(members=snap.members, torrents=snap.torrents,
                           seeders=snap.seeders, leechers=snap.leechers,
                           transferred=int(snap.transferred), active_today=snap.active_today)
    listed = Torrent.objects.filter(status=TorrentStatus.APPROVED, deleted_at__isnull=True)
    peers = listed.aggregate(n=Count("pk"), s=Sum("statistics__seeders"),
                             lc=Sum("statistics__leechers"))
    return SiteFigures(
        members=User.objects.filter(status=UserStatus.ACTIVE, deleted_at__isnull=True).count(),
        torrents=peers["n"], seeders=peers["s"] or 0, leechers=peers["lc"] or 0)


def _read() -> CatalogHome:
    now = timezone.now()
    free = Q(is_freeleech=True) & (Q(freeleech_until__isnull=True) | Q(freeleech_until__gt=now))
    top = list(Top10Entry.objects.filter(period=Top10Period.WEEK, board=Top10Board.ACTIVE)
               .order_by("rank")[:LIST_SIZE])
    return CatalogHome(
        featured=list(_listed().filter(is_featured=True).order_by("-created_at")[:LIST_SIZE]),
        freeleech=list(_listed().filter(free).order_by("-created_at")[:LIST_SIZE]),
        latest=list(_listed().order_by("-created_at")[:LATEST_SIZE]),
        top_week=top, top_week_title=Top10Board.ACTIVE.label,
        figures=_figures())


def catalog_home() -> CatalogHome:
    """The catalog's part of the home page, from the cache (read again every
    HOME_CACHE_SECONDS: a new upload shows within a minute)."""
    found: Any = cache.get(HOME_CACHE_KEY)
    if isinstance(found, CatalogHome):
        return found
    home = _read()
    cache.set(HOME_CACHE_KEY, home, HOME_CACHE_SECONDS)
    return home
