"""Site statistics as one row per day (site_statistics_daily), written by beat; the
statistics page charts each figure from these rows, never from live counts.

Figures: members (active accounts), active today and this week (last seen), torrents
(approved, not deleted), peers, seeders and leechers (the swarm now), total transferred
(the tracker's credited upload plus download of every member), members per class.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone

from domain.accounts.models import User, UserGroup, UserStatistics, UserStatus
from domain.catalog.models import SiteStatisticsDaily, Torrent, TorrentStatus
from domain.tracker.models import Peer

FIGURES = {
    "members": "Members",
    "active_today": "Active today",
    "active_week": "Active this week",
    "torrents": "Torrents",
    "peers": "Peers",
    "seeders": "Seeders",
    "leechers": "Leechers",
    "seeder_ratio": "Seeders per leecher",
    "transferred": "Total transferred (bytes)",
}


def site_statistics_snapshot(*, now: datetime | None = None) -> SiteStatisticsDaily:
    """Write (or rewrite) today's row; five aggregate queries."""
    now = now or timezone.now()
    members = User.objects.filter(status=UserStatus.ACTIVE, deleted_at__isnull=True)
    seen = members.aggregate(
        total=Count("pk"),
        today=Count("pk", filter=Q(last_seen_at__gte=now - timedelta(days=1))),
        week=Count("pk", filter=Q(last_seen_at__gte=now - timedelta(days=7))))
    per_class = dict(members.values_list("group__name").annotate(n=Count("pk"))
                     .values_list("group__name", "n"))
    peers = Peer.objects.aggregate(total=Count("pk"), seeders=Count("pk", filter=Q(
        is_seeder=True)))
    moved = UserStatistics.objects.aggregate(up=Sum("uploaded"), down=Sum("downloaded"))
    row, _ = SiteStatisticsDaily.objects.update_or_create(day=now.date(), defaults={
        "members": seen["total"], "active_today": seen["today"], "active_week": seen["week"],
        "torrents": Torrent.objects.filter(status=TorrentStatus.APPROVED,
                                           deleted_at__isnull=True).count(),
        "peers": peers["total"], "seeders": peers["seeders"],
        "leechers": peers["total"] - peers["seeders"],
        "transferred": (moved["up"] or 0) + (moved["down"] or 0),
        "members_per_class": per_class, "computed_at": now})
    return row


@dataclass
class Series:
    key: str
    title: str
    points: list[tuple[date, float]]

    @property
    def latest(self) -> float | None:
        return self.points[-1][1] if self.points else None


def site_statistics_series(*, days: int = 90) -> tuple[list[Series], dict[str, int]]:
    """Each figure over the last `days` snapshots, oldest first, and the latest
    members-per-class breakdown."""
    rows = list(SiteStatisticsDaily.objects.order_by("-day")[:max(1, min(days, 3660))])
    rows.reverse()
    series = []
    for key, title in FIGURES.items():
        if key == "seeder_ratio":
            points = [(r.day, round(r.seeders / r.leechers, 2) if r.leechers else
                       float(r.seeders)) for r in rows]
        else:
            points = [(r.day, float(getattr(r, key))) for r in rows]
        series.append(Series(key=key, title=title, points=points))
    return series, (rows[-1].members_per_class if rows else {})


def site_statistics_class_series(*, days: int = 90) -> list[Series]:
    """Members per class over the last `days` snapshots, one series per class that any
    of them counted (key "class:<name>", titled by its display name), by rank."""
    rows = list(SiteStatisticsDaily.objects.order_by("-day")
                .values_list("day", "members_per_class")[:max(1, min(days, 3660))])
    rows.reverse()
    names = {name for _, per_class in rows for name in (per_class or {})}
    groups = {g.name: g for g in UserGroup.objects.filter(name__in=names)}
    ordered = sorted(names, key=lambda n: (groups[n].rank if n in groups else 10**6, n))
    return [Series(key=f"class:{name}",
                   title=groups[name].display_name if name in groups else name,
                   points=[(day, float((per_class or {}).get(name, 0)))
                           for day, per_class in rows])
            for name in ordered]
