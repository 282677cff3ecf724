"""Nightly drift correction: counters that the tracker's flush and the services keep
incrementally are recomputed from their sources of truth.

- torrent_statistics.seeders / leechers from `peers` (the live swarm, reaped of stale peers);
- user_statistics.seeding_count / leeching_count / seeding_size from `peers` and torrents;
- user_statistics' row counters (uploads, comments, forum posts, requests filled and voted,
  invites) from their rows (domain.accounts.counters.statistics_recount_rows);
- users.bonus_points from the ledger (bonus_transactions is the truth; a balance that differs
  is set to the ledger's sum and logged as a warning, since it means a write bypassed the
  services).

Each statement only touches rows whose value differs, so a second run changes nothing.
A flush that lands while this runs may be overwritten with a value a few seconds old; the
next flush moves it on, which is fine for a nightly correction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connection, transaction

from domain.accounts.counters import statistics_recount_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecomputeResult:
    torrent_statistics_fixed: int
    torrent_statistics_created: int
    user_statistics_fixed: int
    balances_fixed: int
    row_counters_fixed: int = 0


_TORRENT_STATS_CREATE = """
INSERT INTO torrent_statistics (id, created_at, updated_at, torrent_id, seeders, leechers,
                                snatches, total_uploaded, total_downloaded)
SELECT gen_random_uuid(), now(), now(), p.torrent_id, 0, 0, 0, 0, 0
FROM (SELECT DISTINCT torrent_id FROM peers) p
WHERE NOT EXISTS (SELECT 1 FROM torrent_statistics ts WHERE ts.torrent_id = p.torrent_id)
ON CONFLICT (torrent_id) DO NOTHING
"""

_TORRENT_STATS_FIX = """
UPDATE torrent_statistics ts
SET seeders = c.seeders, leechers = c.leechers, updated_at = now()
FROM (
    SELECT ts2.torrent_id,
           COUNT(p.id) FILTER (WHERE p.is_seeder) AS seeders,
           COUNT(p.id) FILTER (WHERE NOT p.is_seeder) AS leechers
    FROM torrent_statistics ts2
    LEFT JOIN peers p ON p.torrent_id = ts2.torrent_id
    GROUP BY ts2.torrent_id
) c
WHERE ts.torrent_id = c.torrent_id
  AND (ts.seeders, ts.leechers) IS DISTINCT FROM (c.seeders, c.leechers)
"""

_USER_STATS_FIX = """
UPDATE user_statistics us
SET seeding_count = c.seeding, leeching_count = c.leeching, seeding_size = c.size,
    updated_at = now()
FROM (
    SELECT us2.user_id,
           COUNT(s.torrent_id) FILTER (WHERE s.seeding) AS seeding,
           COUNT(s.torrent_id) FILTER (WHERE NOT s.seeding) AS leeching,
           COALESCE(SUM(s.size) FILTER (WHERE s.seeding), 0) AS size
    FROM user_statistics us2
    LEFT JOIN (
        -- one row per member per torrent: seeding if any of their clients seeds it
        SELECT p.user_id, p.torrent_id, bool_or(p.is_seeder) AS seeding, MAX(t.size) AS size
        FROM peers p JOIN torrents t ON t.id = p.torrent_id
        GROUP BY p.user_id, p.torrent_id
    ) s ON s.user_id = us2.user_id
    GROUP BY us2.user_id
) c
WHERE us.user_id = c.user_id
  AND (us.seeding_count, us.leeching_count, us.seeding_size)
      IS DISTINCT FROM (c.seeding, c.leeching, c.size)
"""

_BALANCE_CANDIDATES = """
SELECT u.id FROM users u
LEFT JOIN (SELECT user_id, SUM(amount) AS total FROM bonus_transactions GROUP BY user_id) l
    ON l.user_id = u.id
WHERE u.bonus_points <> COALESCE(l.total, 0)
ORDER BY u.id
"""

# Runs after the candidates' rows are locked, in a new statement (a new snapshot under READ
# COMMITTED): every spend holds the row lock while it writes its ledger row, so the sums
# read here include every committed spend and none is in flight.
_BALANCE_FIX = """
UPDATE users u SET bonus_points = l.total
FROM (SELECT u2.id AS user_id, COALESCE(SUM(bt.amount), 0) AS total
      FROM users u2 LEFT JOIN bonus_transactions bt ON bt.user_id = u2.id
      WHERE u2.id = ANY(%(ids)s)
      GROUP BY u2.id) l
WHERE u.id = l.user_id AND u.bonus_points <> l.total AND l.total >= 0
RETURNING u.id, u.username, l.total
"""


def statistics_recompute() -> RecomputeResult:
    """Recompute the drifting counters (see the module docstring); safe to run twice.

    Hand-written SQL: each fix is one UPDATE ... FROM (grouped aggregate) touching only the
    rows that differ; the ORM would need a correlated subquery per row and per column.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_TORRENT_STATS_CREATE)
        created = cursor.rowcount
        cursor.execute(_TORRENT_STATS_FIX)
        torrents_fixed = cursor.rowcount
        cursor.execute(_USER_STATS_FIX)
        users_fixed = cursor.rowcount
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_BALANCE_CANDIDATES)
        ids = [row[0] for row in cursor.fetchall()]
        fixed: list[tuple[object, str, object]] = []
        if ids:
            cursor.execute("SELECT id FROM users WHERE id = ANY(%(ids)s) ORDER BY id "
                           "FOR UPDATE", {"ids": ids})
            cursor.execute(_BALANCE_FIX, {"ids": ids})
            fixed = cursor.fetchall()
    # Uploads, comments, posts, requests and invites (domain.accounts.counters).

    rows_fixed = len(statistics_recount_rows())
    for user_id, username, total in fixed:
        log.warning("bonus balance of %s (%s) differed from its ledger: set to %s",
                    username, user_id, total)
    result = RecomputeResult(torrent_statistics_fixed=torrents_fixed,
                             torrent_statistics_created=created,
                             user_statistics_fixed=users_fixed, balances_fixed=len(fixed),
                             row_counters_fixed=rows_fixed)
    log.info("statistics recomputed: %s", result)
    return result
