"""Gazelle's top 10, computed by beat into top10_entries and never per request.

For each period (past day, week, month, all time) the history of that period, the rolled-up
peer_history_daily plus the raw peer_history not rolled up yet, is summed once per
(torrent, member) into a temporary table; every board of the period reads that table.

Torrent boards (approved, not deleted torrents):
- active: members who transferred or seeded it in the period;
- snatched: all time, the tracker's snatch count; in a period, the members who both
  downloaded and seeded it in that period (they completed it then: the history records no
  completion event);
- transferred: bytes up plus down in the period (all time: the tracker's totals);
- best / worst seeded: current seeders of the torrents uploaded in the period (Gazelle);
  worst seeded lists only torrents someone wants (a leecher or a snatch), fewest first.
Member boards (active members): uploaded, downloaded, seed time and bonus points earned in
the period (all time: user_statistics and the whole ledger). A member whose paranoia hides
the figure (show_uploaded, show_downloaded, show_seeding, show_bonus_points) is left out.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from domain.catalog.models import Top10Board, Top10Entry, Top10Period

log = logging.getLogger(__name__)

SPANS = {Top10Period.DAY: timedelta(days=1), Top10Period.WEEK: timedelta(days=7),
         Top10Period.MONTH: timedelta(days=30)}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.get_fixed_timezone(0))

_PAIRS = """
CREATE TEMP TABLE top10_pairs ON COMMIT DROP AS
SELECT torrent_id, user_id, SUM(up) AS up, SUM(down) AS down, SUM(seed) AS seed
FROM (
    SELECT torrent_id, user_id, uploaded AS up, downloaded AS down, seedtime_seconds AS seed
    FROM peer_history_daily WHERE day >= %(since)s::date
    UNION ALL
    SELECT torrent_id, user_id, uploaded_delta, downloaded_delta, seedtime_seconds
    FROM peer_history WHERE recorded_at >= %(since)s
) a
GROUP BY torrent_id, user_id
"""

_INSERT = """
INSERT INTO top10_entries (id, board, period, rank, target_id, label, value, computed_at)
SELECT gen_random_uuid(), %(board)s, %(period)s, row_number() OVER (ORDER BY v.value {order},
       v.target_id), v.target_id, v.label, v.value, %(now)s
FROM ({select}) v
"""

_TORRENT = ("JOIN torrents t ON t.id = {key} "
            "AND t.status = 'approved' AND t.deleted_at IS NULL")
_MEMBER = ("JOIN users u ON u.id = {key} AND u.status = 'active' AND u.deleted_at IS NULL "
           "LEFT JOIN user_privacy pv ON pv.user_id = u.id ")


def _torrent_from_pairs(expr: str, where: str = "") -> str:
    return (f"SELECT p.torrent_id AS target_id, MAX(t.name) AS label, {expr} AS value "  # noqa: S608 - constant fragments, values bound
            f"FROM top10_pairs p {_TORRENT.format(key='p.torrent_id')} "
            f"GROUP BY p.torrent_id {where} ORDER BY value DESC, p.torrent_id LIMIT 10")


def _member(expr_from: str, privacy: str) -> str:
    return (f"SELECT s.user_id AS target_id, u.username AS label, s.value FROM ({expr_from}) s "  # noqa: S608 - constant fragments, values bound
            f"{_MEMBER.format(key='s.user_id')} "
            f"WHERE COALESCE(pv.{privacy}, true) AND s.value > 0 "
            "ORDER BY s.value DESC, s.user_id LIMIT 10")


def _selects(period: str) -> dict[str, tuple[str, str]]:
    """board -> (SELECT of target_id, label, value; ORDER direction)."""
    stats = "JOIN torrent_statistics ts ON ts.torrent_id = t.id"
    uploaded_in = "" if period == Top10Period.ALL else "AND t.created_at >= %(since)s"
    boards: dict[str, tuple[str, str]] = {
        Top10Board.ACTIVE: (_torrent_from_pairs("COUNT(*)"), "DESC"),
        Top10Board.BEST_SEEDED: (
            f"SELECT t.id AS target_id, t.name AS label, ts.seeders AS value FROM torrents t "  # noqa: S608 - constant fragments, values bound
            f"{stats} WHERE t.status = 'approved' AND t.deleted_at IS NULL {uploaded_in} "
            "AND ts.seeders > 0 ORDER BY ts.seeders DESC, t.id LIMIT 10", "DESC"),
        Top10Board.WORST_SEEDED: (
            f"SELECT t.id AS target_id, t.name AS label, ts.seeders AS value FROM torrents t "  # noqa: S608 - constant fragments, values bound
            f"{stats} WHERE t.status = 'approved' AND t.deleted_at IS NULL {uploaded_in} "
            "AND (ts.leechers > 0 OR ts.snatches > 0) "
            "ORDER BY ts.seeders ASC, ts.leechers DESC, t.id LIMIT 10", "ASC"),
    }
    if period == Top10Period.ALL:
        boards[Top10Board.SNATCHED] = (
            f"SELECT t.id AS target_id, t.name AS label, ts.snatches AS value FROM torrents t "  # noqa: S608 - constant fragments, values bound
            f"{stats} WHERE t.status = 'approved' AND t.deleted_at IS NULL AND ts.snatches > 0 "
            "ORDER BY ts.snatches DESC, t.id LIMIT 10", "DESC")
        boards[Top10Board.TRANSFERRED] = (
            "SELECT t.id AS target_id, t.name AS label, "  # noqa: S608 - constant fragments, values bound
            "(ts.total_uploaded + ts.total_downloaded) AS value FROM torrents t "
            f"{stats} WHERE t.status = 'approved' AND t.deleted_at IS NULL "
            "AND ts.total_uploaded + ts.total_downloaded > 0 "
            "ORDER BY value DESC, t.id LIMIT 10", "DESC")
        users = ("SELECT user_id, {col} AS value FROM user_statistics")
        boards[Top10Board.UPLOADERS] = (_member(users.format(col="uploaded"),
                                                "show_uploaded"), "DESC")
        boards[Top10Board.DOWNLOADERS] = (_member(users.format(col="downloaded"),
                                                  "show_downloaded"), "DESC")
        boards[Top10Board.SEEDERS] = (_member(users.format(col="seedtime_seconds"),
                                              "show_seeding"), "DESC")
    else:
        boards[Top10Board.SNATCHED] = (_torrent_from_pairs(
            "COUNT(*) FILTER (WHERE p.down > 0 AND p.seed > 0)",
            "HAVING COUNT(*) FILTER (WHERE p.down > 0 AND p.seed > 0) > 0"), "DESC")
        boards[Top10Board.TRANSFERRED] = (_torrent_from_pairs(
            "SUM(p.up + p.down)", "HAVING SUM(p.up + p.down) > 0"), "DESC")
        pairs = "SELECT user_id, SUM({col}) AS value FROM top10_pairs GROUP BY user_id"
        boards[Top10Board.UPLOADERS] = (_member(pairs.format(col="up"), "show_uploaded"),
                                        "DESC")
        boards[Top10Board.DOWNLOADERS] = (_member(pairs.format(col="down"),
                                                  "show_downloaded"), "DESC")
        boards[Top10Board.SEEDERS] = (_member(pairs.format(col="seed"), "show_seeding"),
                                      "DESC")
    boards[Top10Board.BONUS] = (_member(
        "SELECT user_id, SUM(amount) AS value FROM bonus_transactions "
        "WHERE transaction_type = 'earning' AND created_at >= %(since)s GROUP BY user_id",
        "show_bonus_points"), "DESC")
    return boards


@dataclass(frozen=True)
class Top10Refresh:
    entries: int
    seconds: float


def top10_refresh(*, now: datetime | None = None) -> Top10Refresh:
    """Recompute every board of every period in one transaction (readers see the old
    lists until it commits).

    Hand-written SQL: per period one grouped pass over the history into a temporary table,
    then one INSERT ... SELECT per board; the ORM cannot union the two history tables
    into one aggregate nor write from a SELECT."""
    now = now or timezone.now()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM top10_entries")
        for period in Top10Period.values:
            since = EPOCH if period == Top10Period.ALL else now - SPANS[Top10Period(period)]
            params: dict[str, Any] = {"since": since, "period": period, "now": now}
            cursor.execute(_PAIRS, params)
            cursor.execute("ANALYZE top10_pairs")
            for board, (select, order) in _selects(period).items():
                cursor.execute(_INSERT.format(select=select, order=order),
                               {**params, "board": str(board)})
            cursor.execute("DROP TABLE top10_pairs")
        count = Top10Entry.objects.count()
    seconds = time.perf_counter() - started
    log.info("top 10 refreshed: %d entries in %.2f s", count, seconds)
    return Top10Refresh(entries=count, seconds=seconds)


@dataclass
class Top10List:
    board: str
    title: str
    period: str
    is_member_board: bool
    entries: list[Top10Entry]


MEMBER_BOARDS = frozenset({Top10Board.UPLOADERS, Top10Board.DOWNLOADERS, Top10Board.SEEDERS,
                           Top10Board.BONUS})


def top10_lists(*, period: str) -> list[Top10List]:
    """The stored lists of one period, board by board (one query)."""
    if period not in Top10Period.values:
        period = Top10Period.DAY
    rows = list(Top10Entry.objects.filter(period=period).order_by("board", "rank"))
    return [Top10List(board=board.value, title=board.label, period=period,
                      is_member_board=board in MEMBER_BOARDS,
                      entries=[r for r in rows if r.board == board.value])
            for board in Top10Board]
