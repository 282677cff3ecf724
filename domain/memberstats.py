"""The header's figures of a member (upload, download, ratio, bonus, seeding, leeching,
hit-and-runs): read for a page from the cache, and sent live to the member's tabs.

Writers that move them (the tracker flush and reaper, the bonus ledger, the earning
period, the hit-and-run job) call domain.events.member_stats_changed in their transaction;
after commit that drops the member's cached figures and adds them to a Redis set, which
beat's `member_stats_publish` drains every MEMBER_STATS_PUBLISH_SECONDS: one read for the
whole batch, one `member.stats` event per member (publish_many), however many changes
each member had in between. A page renders the cached figures (no query once cached).

A leaf module: it reads several areas and no area imports it (they import the marking
function from domain/events.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from celery import shared_task
from django.core.cache import cache
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from domain.accounts.models import User
from domain.events import (
    MEMBER_STATS_DIRTY_KEY,
    MemberStats,
    MemberStatsPayload,
    member_stats_cache_key,
    publish_many,
)
from domain.tracker.models import TorrentHistory

CACHE_SECONDS = 300
BATCH = 2000


def ratio_text(uploaded: int, downloaded: int) -> str:
    if downloaded == 0:
        return "∞" if uploaded else "—"
    return f"{uploaded / downloaded:.2f}"


def member_stats_read(user_ids: Iterable[uuid.UUID | str]) -> dict[str, MemberStatsPayload]:
    """Figures of these members, by id, in one query (members gone are left out)."""
    ids = {str(u) for u in user_ids}
    if not ids:
        return {}
    hnr = (TorrentHistory.objects.filter(user_id=OuterRef("pk"), hnr_at__isnull=False,
                                         hnr_cleared_at__isnull=True)
           .order_by().values("user_id").annotate(n=Count("*")).values("n"))
    rows = (User.objects.filter(pk__in=ids)
            .annotate(hnr=Coalesce(Subquery(hnr, output_field=IntegerField()), Value(0)))
            .values("pk", "bonus_points", "hnr", "statistics__uploaded",
                    "statistics__downloaded", "statistics__seeding_count",
                    "statistics__leeching_count"))
    found: dict[str, MemberStatsPayload] = {}
    for row in rows:
        up = row["statistics__uploaded"] or 0
        down = row["statistics__downloaded"] or 0
        bonus: Decimal = row["bonus_points"] or Decimal(0)
        found[str(row["pk"])] = MemberStatsPayload(
            uploaded=up, downloaded=down, ratio=ratio_text(up, down),
            bonus=f"{bonus:.2f}", seeding=row["statistics__seeding_count"] or 0,
            leeching=row["statistics__leeching_count"] or 0, hnr=row["hnr"])
    return found


def member_stats_get(user_id: uuid.UUID | str) -> MemberStatsPayload | None:
    """One member's figures for a page: cached until they change (or CACHE_SECONDS)."""
    key = member_stats_cache_key(user_id)
    cached: Any = cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    stats = member_stats_read([user_id]).get(str(user_id))
    if stats is not None:
        cache.set(key, stats, CACHE_SECONDS)
    return stats


def member_stats_publish(*, batch: int = BATCH) -> int:
    """Send one member.stats to every member marked since the last run; returns how many.
    SPOP takes each id once, so two overlapping runs never send a member twice, and a
    member marked while this runs is in the next run."""
    client: Any = cache._cache.get_client(MEMBER_STATS_DIRTY_KEY, write=True)  # type: ignore[attr-defined]
    key = cache.make_key(MEMBER_STATS_DIRTY_KEY)
    sent = 0
    while True:
        popped = client.spop(key, batch) or []
        ids = [p.decode() if isinstance(p, bytes) else str(p) for p in popped]
        if not ids:
            return sent
        stats = member_stats_read(ids)
        cache.set_many({member_stats_cache_key(i): s for i, s in stats.items()},
                       CACHE_SECONDS)
        publish_many(MemberStats(user_id=i, payload=s) for i, s in stats.items())
        sent += len(stats)
        if len(ids) < batch:
            return sent


@shared_task(name="accounts.member_stats_publish")
def member_stats_publish_task() -> int:
    return member_stats_publish()
