"""Earning: each elapsed period, every member is paid for the torrents they seeded in it.

What the tracker's tables are taken to mean (the tracker writes them through its flush):
- `peer_history` has a row per peer per announce interval: `recorded_at` is when the
  interval was recorded and `seedtime_seconds` how many seconds of that interval the peer
  was a seeder (a delta, not a running total; `peers.seedtime_seconds` is the running total).
  A row belongs to the period its `recorded_at` falls in.
- `torrent_statistics.seeders` is the torrent's current seeder count (the low-seeder rule
  reads it when the period is awarded; a torrent without a statistics row counts as 0).
- a token's volume is not read from here: the tracker counts what the token made free in
  `freeleech_tokens.downloaded_bytes` (see services.freeleech_tokens_expire).

A member's seeding time on a torrent in a period is the sum over their peers of that
torrent, capped at the period's length (two clients seeding the same torrent earn once).
Each active rule whose conditions hold pays, per hour of that time,
`points_per_hour + points_per_gib_hour * GiB above min_size_bytes`, capped at
`max_points_per_hour`. A member gets one ledger row per period (the per-rule breakdown is in
its metadata), keyed `earning:<period start>`.

Exactly once: a period's row in bonus_earning_periods (primary key: its start), the ledger
rows and the balances are written in one transaction. A second run of the same period finds
the row and does nothing; a run that dies halfway leaves nothing, and the rerun awards it
whole. Periods after an outage are awarded one transaction each, oldest first, so an
interrupted catch-up resumes where it stopped.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from domain.bonus.models import EarningPeriod, TransactionType
from domain.errors import ValidationFailed
from domain.events import member_stats_changed

log = logging.getLogger(__name__)

GIB = 1024**3


@dataclass(frozen=True)
class PeriodResult:
    period_start: datetime
    period_end: datetime
    awarded: bool  # False: the period had been awarded already
    members: int = 0
    points: Decimal = Decimal("0")


def earning_key(period_start: datetime) -> str:
    return f"earning:{period_start.astimezone(UTC).isoformat()}"


# Per member: the points of the period, with the per-rule breakdown. One statement over
# peer_history joined to torrents, torrent_statistics and bonus_rules (set-based: a Python
# loop over a million peers would take minutes per period).
_AWARDS_SQL = """
CREATE TEMP TABLE bonus_period_awards ON COMMIT DROP AS
WITH seeding AS (
    SELECT ph.user_id, ph.torrent_id,
           LEAST(SUM(ph.seedtime_seconds), %(period_seconds)s)::numeric AS seconds
    FROM peer_history ph
    WHERE ph.recorded_at >= %(start)s AND ph.recorded_at < %(end)s
      AND ph.seedtime_seconds > 0
    GROUP BY ph.user_id, ph.torrent_id
), earned AS (
    SELECT s.user_id, s.torrent_id, r.name AS rule_name,
           s.seconds / 3600 * CASE
               WHEN r.max_points_per_hour IS NULL THEN rate.per_hour
               ELSE LEAST(rate.per_hour, r.max_points_per_hour) END AS points
    FROM seeding s
    JOIN torrents t ON t.id = s.torrent_id
    LEFT JOIN torrent_statistics ts ON ts.torrent_id = t.id
    JOIN bonus_rules r ON r.is_active
        AND s.seconds >= r.min_seedtime_seconds
        AND (r.max_seeders IS NULL OR COALESCE(ts.seeders, 0) <= r.max_seeders)
        AND (r.min_size_bytes IS NULL OR t.size >= r.min_size_bytes)
        AND (NOT r.requires_freeleech
             OR (t.is_freeleech AND (t.freeleech_until IS NULL
                                     OR t.freeleech_until > %(start)s)))
    CROSS JOIN LATERAL (
        SELECT r.points_per_hour + r.points_per_gib_hour
               * GREATEST(t.size - COALESCE(r.min_size_bytes, 0), 0)::numeric / %(gib)s
               AS per_hour
    ) rate
    WHERE t.status = 'approved' AND t.deleted_at IS NULL
), per_rule AS (
    SELECT user_id, rule_name, SUM(points) AS points, COUNT(*) AS torrents
    FROM earned GROUP BY user_id, rule_name
), per_user AS (
    SELECT user_id, ROUND(SUM(points), 2) AS amount,
           jsonb_object_agg(rule_name, jsonb_build_object(
               'points', ROUND(points, 4), 'torrents', torrents)) AS rules
    FROM per_rule GROUP BY user_id
)
SELECT pu.user_id, pu.amount,
       jsonb_build_object('period_start', %(start_iso)s, 'period_end', %(end_iso)s,
                          'rules', pu.rules) AS metadata
FROM per_user pu
JOIN users u ON u.id = pu.user_id
WHERE pu.amount > 0 AND u.status = 'active' AND u.deleted_at IS NULL
"""

# Skips members already paid for this key (a guard should the period row ever be lost).
_DROP_PAID_SQL = """
DELETE FROM bonus_period_awards a USING bonus_transactions bt
WHERE bt.user_id = a.user_id AND bt.idempotency_key = %(key)s
"""

# Row locks in id order: a gift locks its two members in id order too, so the two never
# deadlock; spends wait for the period's commit, then see the new balance.
_LOCK_SQL = """
SELECT u.id FROM users u
WHERE u.id IN (SELECT user_id FROM bonus_period_awards)
ORDER BY u.id FOR UPDATE
"""

# The balance after each award comes from the UPDATE itself, so it is exact.
_PAY_SQL = """
WITH paid AS (
    UPDATE users u SET bonus_points = u.bonus_points + a.amount
    FROM bonus_period_awards a
    WHERE u.id = a.user_id
    RETURNING u.id AS user_id, u.bonus_points AS balance, a.amount, a.metadata
)
INSERT INTO bonus_transactions (id, user_id, transaction_type, amount, balance_after,
                                description, idempotency_key, metadata, created_at)
SELECT gen_random_uuid(), p.user_id, %(type)s, p.amount, p.balance, %(description)s,
       %(key)s, p.metadata, %(now)s
FROM paid p
RETURNING user_id, amount
"""


def _award_period_sql(*, start: datetime, end: datetime, now: datetime) -> tuple[int, Decimal]:
    """Writes a period's ledger rows and balances; the caller holds the transaction.

    Hand-written SQL: the ORM has no CREATE TABLE AS, no UPDATE ... FROM ... RETURNING
    feeding an INSERT, and no row-locking in a chosen order without loading the rows into
    Python. Measured by `make bench-bonus` (1M peers).
    """
    key = earning_key(start)
    params: dict[str, Any] = {
        "start": start, "end": end, "period_seconds": int((end - start).total_seconds()),
        "gib": GIB, "start_iso": start.isoformat(), "end_iso": end.isoformat(), "key": key,
        "type": TransactionType.EARNING.value, "now": now,
        "description": f"Seeding {start:%Y-%m-%d %H:%M}-{end:%H:%M} UTC",
    }
    with connection.cursor() as cursor:
        # ON COMMIT DROP does not fire when the caller's transaction goes on (several
        # periods in one outer transaction, or a test's): drop it explicitly too.
        cursor.execute("DROP TABLE IF EXISTS bonus_period_awards")
        cursor.execute(_AWARDS_SQL, params)
        cursor.execute(_DROP_PAID_SQL, params)
        cursor.execute(_LOCK_SQL)
        cursor.execute(_PAY_SQL, params)
        paid = cursor.fetchall()
        amounts = [amount for _user_id, amount in paid]
        cursor.execute("DROP TABLE bonus_period_awards")
    member_stats_changed(user_id for user_id, _amount in paid)
    return len(amounts), sum(amounts, Decimal("0"))


def bonus_award_period(*, period_start: datetime, period_end: datetime,
                       now: datetime | None = None) -> PeriodResult:
    """Award one elapsed period, exactly once (see the module docstring)."""
    now = now or timezone.now()
    if period_end <= period_start:
        raise ValidationFailed("A period must end after it starts.")
    if period_end > now:
        raise ValidationFailed("That period has not ended yet.")
    began = time.monotonic()
    with transaction.atomic():
        # The primary key makes a concurrent run of the same period wait for this one,
        # then find the row and do nothing.
        period, created = EarningPeriod.objects.get_or_create(
            period_start=period_start, defaults={"period_end": period_end, "awarded_at": now})
        if not created:
            return PeriodResult(period_start, period.period_end, awarded=False)
        members, points = _award_period_sql(start=period_start, end=period_end, now=now)
        period.members = members
        period.points = points
        period.duration_ms = int((time.monotonic() - began) * 1000)
        period.save(update_fields=["members", "points", "duration_ms"])
    log.info("bonus period %s-%s: %d members earned %s points in %d ms", period_start,
             period_end, members, points, period.duration_ms)
    return PeriodResult(period_start, period_end, awarded=True, members=members,
                        points=points)


def due_periods(*, now: datetime) -> list[tuple[datetime, datetime]]:
    """The elapsed periods not yet awarded, oldest first: contiguous from the last awarded
    one (or, the first time, only the latest), each ended at least the grace before now."""
    length = timedelta(seconds=settings.BONUS_EARNING_PERIOD_SECONDS)
    horizon = now - timedelta(seconds=settings.BONUS_EARNING_GRACE_SECONDS)
    last = EarningPeriod.objects.order_by("-period_start").first()
    if last is None:
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        start = epoch + ((horizon - epoch) // length) * length - length
    else:
        start = last.period_end
    periods = []
    while start + length <= horizon:
        periods.append((start, start + length))
        start += length
    return periods[-settings.BONUS_EARNING_CATCH_UP_PERIODS:]


def bonus_award_due_periods(*, now: datetime | None = None) -> list[PeriodResult]:
    """Award every due period, one transaction each, oldest first."""
    now = now or timezone.now()
    return [bonus_award_period(period_start=start, period_end=end, now=now)
            for start, end in due_periods(now=now)]
