"""peer_history -> peer_history_daily, for raw rows older than PEER_HISTORY_RAW_DAYS.

Each UTC day is moved in one statement: the raw rows are deleted and their sums added to
the daily rows in the same transaction, so a rerun (or a crash and rerun) finds nothing
left to add and nothing is counted twice; rows that arrive late for an already rolled-up
day are added to it. The bonus earning and token expiry jobs read recent raw rows only
(within BONUS_EARNING_CATCH_UP_PERIODS hours), which this never touches.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

log = logging.getLogger(__name__)

# One statement per day, not an ORM loop: the raw table holds a row per peer per interval
# (millions a day on a real site) and the move must be atomic with the sums.
_ROLL_UP_DAY = """
WITH moved AS (
    DELETE FROM peer_history
     WHERE recorded_at >= %(start)s AND recorded_at < %(end)s
    RETURNING torrent_id, user_id, uploaded_delta, downloaded_delta,
              seedtime_seconds, leechtime_seconds
)
INSERT INTO peer_history_daily AS daily
       (id, day, torrent_id, user_id, uploaded, downloaded,
        seedtime_seconds, leechtime_seconds, samples)
SELECT gen_random_uuid(), %(day)s, torrent_id, user_id, sum(uploaded_delta),
       sum(downloaded_delta), sum(seedtime_seconds), sum(leechtime_seconds), count(*)
  FROM moved
 GROUP BY torrent_id, user_id
ON CONFLICT (day, torrent_id, user_id) DO UPDATE SET
    uploaded = daily.uploaded + EXCLUDED.uploaded,
    downloaded = daily.downloaded + EXCLUDED.downloaded,
    seedtime_seconds = daily.seedtime_seconds + EXCLUDED.seedtime_seconds,
    leechtime_seconds = daily.leechtime_seconds + EXCLUDED.leechtime_seconds,
    samples = daily.samples + EXCLUDED.samples
"""


def peer_history_roll_up(*, raw_days: int, today: date | None = None) -> dict[str, int]:
    """Roll up every day before `today - raw_days` that still has raw rows, oldest first.
    Returns {"days": n, "rows": raw rows moved}."""
    if raw_days < 1:
        raise ValueError("raw_days must be at least 1")
    today = today or datetime.now(UTC).date()
    cutoff = datetime.combine(today - timedelta(days=raw_days), datetime.min.time(), UTC)
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(recorded_at) FROM peer_history WHERE recorded_at < %s",
                       [cutoff])
        (oldest,) = cursor.fetchone()
    days = rows = 0
    day = oldest.astimezone(UTC).date() if oldest else None
    while day is not None and datetime.combine(day, datetime.min.time(), UTC) < cutoff:
        start = datetime.combine(day, datetime.min.time(), UTC)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM peer_history "
                           "WHERE recorded_at >= %s AND recorded_at < %s",
                           [start, start + timedelta(days=1)])
            (count,) = cursor.fetchone()
            if count:
                cursor.execute(_ROLL_UP_DAY, {"start": start, "end": start + timedelta(days=1),
                                              "day": day})
                days += 1
                rows += count
        day += timedelta(days=1)
    log.info("peer_history: rolled %d raw rows of %d day(s) into daily rows", rows, days)
    return {"days": days, "rows": rows}
