"""Ratio watch, as Gazelle has it.

The required ratio depends on the amount downloaded (credited bytes) and on how much of
what the member snatched they still seed: RATIO_WATCH_TABLE gives, per band of GiB
downloaded, the ratio required when seeding everything snatched and when seeding nothing;
between the two it falls linearly with the share seeded (Gazelle's
`max * (1 - seeding / snatched)`, never below the band's minimum). Ratios are credited
figures (user_statistics), so freeleech downloads cost nothing and neutral torrents
neither help nor hurt.

`ratio_watch_check` (every RATIO_WATCH_CHECK_SECONDS): a member below the requirement is
put on watch with a deadline RATIO_WATCH_DAYS away and told; back at or above it, the watch
ends (and leeching returns if it was off); still below at the deadline, leeching goes off
in the tracker (the member's record is invalidated) until the ratio is back. Members whose
class grants Perm.IMMUNE_RATIO are never watched, and a watch ends when they gain it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from domain.accounts.models import User
from domain.accounts.permissions import Perm
from domain.community.notifications import notification_send
from domain.tracker.cache import invalidate_user
from domain.tracker.models import RatioWatch

GIB = 1024 ** 3


def required_ratio(*, downloaded: int, seeding: int, snatched: int) -> Decimal:
    """The ratio a member must keep (0: none required)."""
    band = (0.0, 0.0)
    for min_gib, all_seeded, none_seeded in sorted(settings.RATIO_WATCH_TABLE):
        if downloaded >= min_gib * GIB:
            band = (float(all_seeded), float(none_seeded))
    low, high = band
    share = min(1.0, seeding / snatched) if snatched > 0 else 0.0
    value = max(low, high * (1.0 - share))
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _ratio(uploaded: int, downloaded: int) -> Decimal | None:
    return None if downloaded <= 0 else Decimal(uploaded) / Decimal(downloaded)


@dataclass(frozen=True, slots=True)
class RatioWatchResult:
    started: int = 0
    ended: int = 0
    leech_disabled: int = 0


def ratio_watch_check(*, now: datetime | None = None) -> RatioWatchResult:
    """Apply the ratio rules to every member who downloaded anything (the beat job)."""
    now = now or timezone.now()
    started = ended = disabled = 0
    # One pass over members with a download or an open watch; the decisions are simple
    # enough that the few writes they cause are done one by one.
    with connection.cursor() as cur:
        cur.execute(
            """SELECT s.user_id, s.uploaded, s.downloaded, s.seeding_count,
                      s.snatched_count, %s = ANY(g.permissions), w.id,
                      w.leech_disabled_at IS NOT NULL, w.deadline_at
               FROM user_statistics s
               JOIN users u ON u.id = s.user_id
               JOIN user_groups g ON g.id = u.group_id
               LEFT JOIN tracker_ratio_watch w
                      ON w.user_id = s.user_id AND w.ended_at IS NULL
               WHERE u.deleted_at IS NULL AND (s.downloaded > 0 OR w.id IS NOT NULL)""",
            [str(Perm.IMMUNE_RATIO)])
        rows = cur.fetchall()
    days = float(settings.RATIO_WATCH_DAYS)
    for (user_id, up, down, seeding, snatched, immune, watch_id, is_disabled,
         deadline) in rows:
        need = Decimal(0) if immune else required_ratio(
            downloaded=down, seeding=seeding, snatched=snatched)
        ratio = _ratio(up, down)
        below = need > 0 and ratio is not None and ratio < need
        with transaction.atomic():
            if watch_id is None and below:
                RatioWatch.objects.create(
                    user_id=user_id, required_ratio=need, started_at=now,
                    ratio_at_start=(ratio or Decimal(0)).quantize(Decimal("0.0001")),
                    deadline_at=now + timedelta(days=days))
                started += 1
                notification_send(
                    user_id=user_id, kind="system", title="You are on ratio watch",
                    body=(f"Your ratio {ratio:.2f} is below the {need} required for what "
                          f"you downloaded. Raise it by "
                          f"{(now + timedelta(days=days)):%Y-%m-%d %H:%M} UTC or your "
                          f"downloads stop until it is back."),
                    url="/history/", target_type="ratio_watch")
            elif watch_id is not None and not below:
                RatioWatch.objects.filter(pk=watch_id).update(ended_at=now)
                ended += 1
                if is_disabled:
                    invalidate_user(user_id)
                notification_send(
                    user_id=user_id, kind="system", title="Ratio watch over",
                    body=("Your ratio meets the requirement again"
                          + (": downloads are back." if is_disabled else ".")),
                    url="/history/", target_type="ratio_watch")
            elif watch_id is not None and below and not is_disabled and deadline <= now:
                RatioWatch.objects.filter(pk=watch_id).update(leech_disabled_at=now)
                disabled += 1
                invalidate_user(user_id)
                notification_send(
                    user_id=user_id, kind="system", title="Downloads stopped: ratio watch",
                    body=(f"Your ratio {ratio:.2f} is still below the required {need}: "
                          "downloads are off until it is back. You may still seed."),
                    url="/history/", target_type="ratio_watch")
    return RatioWatchResult(started=started, ended=ended, leech_disabled=disabled)


@dataclass(frozen=True, slots=True)
class RatioWatchStatus:
    ratio: Decimal | None
    required: Decimal
    immune: bool
    on_watch: bool
    deadline_at: datetime | None
    leech_disabled: bool


def member_ratio_watch_status(*, user_id: uuid.UUID | str) -> RatioWatchStatus:
    """A member's ratio standing (their pages and the API)."""
    user = User.objects.select_related("group", "statistics").get(pk=user_id)
    stats = user.statistics
    immune = user.group.grants(Perm.IMMUNE_RATIO)
    need = Decimal(0) if immune else required_ratio(
        downloaded=stats.downloaded, seeding=stats.seeding_count,
        snatched=stats.snatched_count)
    watch = RatioWatch.objects.filter(user_id=user_id, ended_at__isnull=True).first()
    return RatioWatchStatus(
        ratio=_ratio(stats.uploaded, stats.downloaded), required=need, immune=immune,
        on_watch=watch is not None, deadline_at=watch.deadline_at if watch else None,
        leech_disabled=bool(watch and watch.leech_disabled_at))
