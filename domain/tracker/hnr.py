"""Hit-and-run: the rules, the periodic job that applies them, and the selectors the
pages, the tracker cache and the API read.

The rule (settings HNR_*): a download of at least HNR_MIN_DOWNLOAD_PERCENT of a torrent's
size is settled by HNR_SEED_HOURS of seed time (torrent_history's strict seed time, see
history.py) or an upload of HNR_RATIO times what was downloaded, on that torrent, in raw
bytes. Freeleech and neutral torrents count like any other: freeleech spares the ratio
(credited download 0), not the duty to seed, and neutral credits nothing either way,
so raw bytes are the only measure on it. HNR_FREELEECH_EXEMPT=1 judges the 10% by
credited bytes instead, so a freeleech download owes nothing and one whose freeleech
ended mid-download owes only if the charged part reaches the threshold.

The job (`hnr_check`, every HNR_CHECK_SECONDS), one set-based statement per step:
1. clears active hit-and-runs that are settled (seeded off) or exempt (row or class
   immune, torrent deleted): the warning is revoked, the member told;
2. withdraws pre-warnings whose member is seeding again (or is settled or exempt);
3. pre-warns (live notification) members who stopped seeding a counted download short of
   the rule;
4. records a hit-and-run where the member is still away HNR_GRACE_HOURS after completion
   and HNR_PREWARN_NOTICE_HOURS after the pre-warning: a warning through the moderation
   service, a notification.
Members whose hit-and-runs were recorded or cleared have their tracker record invalidated,
so HNR_MAX_ACTIVE active hit-and-runs take downloads away at the next announce (and give
them back) rather than at the record's expiry.

Rows are taken with FOR UPDATE SKIP LOCKED: a row the flush holds is judged next time.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg import sql

from domain.accounts.models import User, UserGroup
from domain.base import TargetType
from domain.community.models import Notification
from domain.community.notifications import notification_payload
from domain.errors import Conflict
from domain.events import NotificationNew, member_stats_changed, publish_many
from domain.moderation.models import WarningSource
from domain.moderation.warnings import warning_issue, warning_lift
from domain.tracker.cache import invalidate_user
from domain.tracker.models import TorrentHistory

log = logging.getLogger(__name__)

SYSTEM_NOTICE = "system"


@dataclass(frozen=True, slots=True)
class HnrRules:
    seed_seconds: int
    ratio: float
    min_download_percent: float
    grace_seconds: int
    prewarn_notice_seconds: int
    max_active: int
    freeleech_exempt: bool
    immune_group_ids: tuple[str, ...]


def hnr_rules() -> HnrRules:
    """The rules as the settings have them now (immune classes resolved to group ids)."""
    groups = UserGroup.objects.filter(
        Q(is_staff=True) | Q(name__in=list(settings.HNR_IMMUNE_GROUPS)))
    return HnrRules(
        seed_seconds=int(float(settings.HNR_SEED_HOURS) * 3600),
        ratio=float(settings.HNR_RATIO),
        min_download_percent=float(settings.HNR_MIN_DOWNLOAD_PERCENT),
        grace_seconds=int(float(settings.HNR_GRACE_HOURS) * 3600),
        prewarn_notice_seconds=int(float(settings.HNR_PREWARN_NOTICE_HOURS) * 3600),
        max_active=int(settings.HNR_MAX_ACTIVE),
        freeleech_exempt=bool(settings.HNR_FREELEECH_EXEMPT),
        immune_group_ids=tuple(str(g) for g in groups.values_list("id", flat=True)))


def _params(rules: HnrRules, now: datetime) -> dict[str, Any]:
    return {"now": now, "seed": rules.seed_seconds, "ratio": rules.ratio,
            "pct": rules.min_download_percent, "fl_exempt": rules.freeleech_exempt,
            "immune_groups": list(rules.immune_group_ids),
            "notice_before": now - timedelta(seconds=rules.prewarn_notice_seconds),
            "grace_before": now - timedelta(seconds=rules.grace_seconds)}


# The rule's parts as SQL over torrent_history h, torrents t, users u (parameters bound).
COUNTED = """(h.downloaded_raw > 0 AND
    (CASE WHEN %(fl_exempt)s THEN h.downloaded ELSE h.downloaded_raw END) * 100.0
        >= t.size * %(pct)s)"""
SETTLED = """(h.seedtime_seconds >= %(seed)s
    OR h.uploaded_raw >= %(ratio)s * h.downloaded_raw)"""
# A completed download is being honoured while it is seeded; an unfinished one while any
# client of the member is still on it.
PRESENT = """(CASE WHEN h.completed_at IS NOT NULL
    THEN coalesce(h.seeding_until > %(now)s, false)
    ELSE coalesce(h.active_until > %(now)s, false) END)"""
EXEMPT = """(h.immune OR t.deleted_at IS NOT NULL OR u.deleted_at IS NOT NULL
    OR u.group_id = ANY(%(immune_groups)s::uuid[]))"""

_FROM = """FROM torrent_history h JOIN torrents t ON t.id = h.torrent_id
           JOIN users u ON u.id = h.user_id"""


def _step(where: str, assign: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Update the rows matching `where`, skipping rows another transaction holds;
    returns (id, user_id, torrent_id, hnr_warning_id, torrent name, seed time) of each."""
    # Composed, not formatted: `where` and `assign` are this module's constant fragments
    # (sql.SQL marks them as trusted text); every value in them is a bound %(name)s.
    statement = sql.SQL("""WITH picked AS (SELECT h.id {from_} WHERE {where}
                                FOR UPDATE OF h SKIP LOCKED)
                UPDATE torrent_history h SET {assign} FROM picked, torrents t
                WHERE h.id = picked.id AND t.id = h.torrent_id
                RETURNING h.id, h.user_id, h.torrent_id, h.hnr_warning_id, t.name,
                          h.seedtime_seconds, h.uploaded_raw, h.downloaded_raw""").format(
        from_=sql.SQL(_FROM), where=sql.SQL(where), assign=sql.SQL(assign))
    with connection.cursor() as cur:
        cur.execute(statement, params)
        return list(cur.fetchall())


@dataclass(frozen=True, slots=True)
class HnrCheckResult:
    cleared: int = 0
    withdrawn: int = 0
    prewarned: int = 0
    recorded: int = 0


def _hours(seconds: float) -> str:
    return f"{max(0.0, seconds) / 3600:.1f} h"


def hnr_check(*, now: datetime | None = None) -> HnrCheckResult:
    """Apply the hit-and-run rules once (the beat job). Idempotent: a second run at the
    same moment changes nothing."""
    now = now or timezone.now()
    rules = hnr_rules()
    p = _params(rules, now)
    touched: set[uuid.UUID] = set()
    notify: list[dict[str, Any]] = []

    with transaction.atomic():
        cleared = _step(
            f"h.hnr_at IS NOT NULL AND h.hnr_cleared_at IS NULL AND ({SETTLED} OR {EXEMPT})",
            "hnr_cleared_at = %(now)s, prewarned_at = NULL", p)
        for _id, user_id, torrent_id, warning_id, name, *_ in cleared:
            touched.add(user_id)
            if warning_id is not None:
                _warning_revoke(warning_id=warning_id,
                                reason=f"Hit-and-run on {name} cleared.")
            notify.append(dict(
                user_id=user_id, title=f"Hit-and-run cleared: {name}",
                body="Thank you for seeding: this hit-and-run and its warning are lifted.",
                url=_torrent_url(torrent_id), target_type="hit_and_run",
                target_id=torrent_id))
        _notify_many(notify)

    with transaction.atomic():
        withdrawn = _step(
            f"h.prewarned_at IS NOT NULL AND h.hnr_at IS NULL AND "
            f"({PRESENT} OR {SETTLED} OR {EXEMPT} OR NOT {COUNTED})",
            "prewarned_at = NULL", p)

    with transaction.atomic():
        prewarned = _step(
            f"h.hnr_at IS NULL AND h.prewarned_at IS NULL AND {COUNTED} AND NOT {SETTLED} "
            f"AND NOT {PRESENT} AND NOT {EXEMPT}",
            "prewarned_at = %(now)s", p)
        for _id, user_id, torrent_id, _w, name, seed, _up, _down in prewarned:
            owed = rules.seed_seconds - seed
            notify.append(dict(
                user_id=user_id,
                title=f"Keep seeding {name}: {_hours(owed)} of seed time still owed",
                body=(f"You stopped seeding {name} before the rule is met "
                      f"({_hours(rules.seed_seconds)} of seeding or a ratio of "
                      f"{rules.ratio:g} on it). Seed it again, or it becomes a hit-and-run "
                      f"with a warning."),
                url=_torrent_url(torrent_id), target_type="hit_and_run_prewarning",
                target_id=torrent_id))
        _notify_many(notify)

    with transaction.atomic():
        recorded = _step(
            f"h.hnr_at IS NULL AND h.prewarned_at <= %(notice_before)s "
            f"AND coalesce(h.completed_at, h.last_announce_at) <= %(grace_before)s "
            f"AND {COUNTED} AND NOT {SETTLED} AND NOT {PRESENT} AND NOT {EXEMPT}",
            "hnr_at = %(now)s", p)
        for row_id, user_id, torrent_id, _w, name, seed, _up, _down in recorded:
            touched.add(user_id)
            warning_id = _warning_issue(
                user_id=user_id, torrent_id=torrent_id, now=now,
                reason=(f"Hit-and-run on {name}: downloaded and not seeded "
                        f"({_hours(seed)} of {_hours(rules.seed_seconds)} seeded). Seed it "
                        f"to have this warning lifted."))
            TorrentHistory.objects.filter(pk=row_id).update(hnr_warning_id=warning_id)
            notify.append(dict(
                user_id=user_id, title=f"Hit-and-run: {name}",
                body=(f"You downloaded {name} and did not seed it. Seed it "
                      f"({_hours(rules.seed_seconds - seed)} still owed) to clear the "
                      f"hit-and-run and its warning. At {rules.max_active} active "
                      f"hit-and-runs your downloads stop."),
                url=_torrent_url(torrent_id), target_type="hit_and_run",
                target_id=torrent_id))
        _notify_many(notify)
        for user_id in touched:
            invalidate_user(user_id)
        member_stats_changed(touched)

    return HnrCheckResult(cleared=len(cleared), withdrawn=len(withdrawn),
                          prewarned=len(prewarned), recorded=len(recorded))


def _notify_many(items: list[dict[str, Any]]) -> None:
    """What notification_send does, for a batch: the rows in one INSERT, the unread
    counts in one query, the live events in one pass after commit. Empties `items`."""
    if not items:
        return
    rows = Notification.objects.bulk_create(
        [Notification(kind=SYSTEM_NOTICE, payload={}, **{**i, "title": i["title"][:200]})
         for i in items], batch_size=1000)
    items.clear()
    users = {n.user_id for n in rows}
    with connection.cursor() as cur:
        cur.execute("SELECT user_id, count(*) FROM notifications "
                    "WHERE user_id = ANY(%s::uuid[]) AND read_at IS NULL GROUP BY user_id",
                    [list(users)])
        unread = dict(cur.fetchall())
    publish_many(NotificationNew(user_id=n.user_id, payload=notification_payload(
        n, unread=int(unread.get(n.user_id, 0)))) for n in rows)


def _torrent_url(torrent_id: uuid.UUID) -> str:
    return f"/torrents/{torrent_id}/"


# --- Warnings, through the moderation service ---

def _warning_issue(*, user_id: uuid.UUID, torrent_id: uuid.UUID, reason: str,
                   now: datetime) -> uuid.UUID:
    member = User.objects.select_related("group").get(pk=user_id)
    warning = warning_issue(
        actor=None, member=member, reason=reason, points=int(settings.HNR_WARNING_POINTS),
        expires_at=now + timedelta(days=int(settings.HNR_WARNING_DAYS)),
        source=WarningSource.HNR, target_type=TargetType.TORRENT, target_id=torrent_id)
    return warning.pk


def _warning_revoke(*, warning_id: uuid.UUID, reason: str) -> None:
    # Staff may have lifted it already: the hit-and-run clears all the same.
    with contextlib.suppress(Conflict):
        warning_lift(actor=None, warning=warning_id, reason=reason)


# --- Selectors (pages, tracker cache, API) ---

@dataclass(frozen=True, slots=True)
class HnrStatus:
    """A member's hit-and-run standing."""

    active: int
    prewarned: int
    limit: int
    downloads_allowed: bool
    immune_class: bool


def member_hnr_status(*, user_id: uuid.UUID | str) -> HnrStatus:
    rules = hnr_rules()
    rows = TorrentHistory.objects.filter(user_id=user_id)
    active = rows.filter(hnr_at__isnull=False, hnr_cleared_at__isnull=True).count()
    prewarned = rows.filter(prewarned_at__isnull=False, hnr_at__isnull=True).count()
    group_id = User.objects.filter(pk=user_id).values_list("group_id", flat=True).first()
    return HnrStatus(active=active, prewarned=prewarned, limit=rules.max_active,
                     downloads_allowed=active < rules.max_active,
                     immune_class=str(group_id) in rules.immune_group_ids)


class HnrState:
    """What a history row's hit-and-run column says."""

    NOT_COUNTED = "not counted"
    IMMUNE = "immune"
    SETTLED = "settled"
    SEEDING = "seeding"
    OWED = "owed"
    PREWARNED = "pre-warned"
    HIT_AND_RUN = "hit-and-run"
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class SeedOwed:
    state: str
    seed_seconds_owed: int  # 0 when nothing is owed
    upload_bytes_owed: int  # to reach the ratio instead


def history_row_state(row: Any, *, torrent_size: int, torrent_deleted: bool,
                      rules: HnrRules, now: datetime, class_immune: bool = False
                      ) -> SeedOwed:
    """The state of one torrent_history row under the rules (the SQL's logic, for one
    row a page or the API shows)."""
    owed_seed = max(0, rules.seed_seconds - int(row.seedtime_seconds))
    owed_up = max(0, int(rules.ratio * row.downloaded_raw) - int(row.uploaded_raw))
    charged = row.downloaded if rules.freeleech_exempt else row.downloaded_raw
    counted = row.downloaded_raw > 0 and charged * 100.0 >= torrent_size * \
        rules.min_download_percent
    settled = owed_seed == 0 or owed_up == 0
    if row.hnr_at is not None:
        state = HnrState.CLEARED if row.hnr_cleared_at else HnrState.HIT_AND_RUN
    elif row.immune or class_immune or torrent_deleted:
        state = HnrState.IMMUNE
    elif not counted:
        state = HnrState.NOT_COUNTED
    elif settled:
        state = HnrState.SETTLED
    elif row.prewarned_at is not None:
        state = HnrState.PREWARNED
    else:
        until = row.seeding_until if row.completed_at else row.active_until
        state = HnrState.SEEDING if until and until > now else HnrState.OWED
    if state in (HnrState.NOT_COUNTED, HnrState.IMMUNE, HnrState.SETTLED,
                 HnrState.CLEARED) or settled:
        return SeedOwed(state=state, seed_seconds_owed=0, upload_bytes_owed=0)
    return SeedOwed(state=state, seed_seconds_owed=owed_seed, upload_bytes_owed=owed_up)


def torrent_seed_owed(*, user_id: uuid.UUID | str, torrent_id: uuid.UUID | str,
                      now: datetime | None = None) -> SeedOwed | None:
    """What the member still owes on one torrent (None: they never announced it)."""
    row = (TorrentHistory.objects.select_related("torrent")
           .filter(user_id=user_id, torrent_id=torrent_id).first())
    if row is None:
        return None
    rules = hnr_rules()
    group_id = User.objects.filter(pk=user_id).values_list("group_id", flat=True).first()
    return history_row_state(row, torrent_size=row.torrent.size,
                             torrent_deleted=row.torrent.deleted_at is not None,
                             rules=rules, now=now or timezone.now(),
                             class_immune=str(group_id) in rules.immune_group_ids)
