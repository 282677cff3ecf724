"""Gazelle's top 10, computed by beat into top10_entries and never per request.

For each period (past day, week, month, all time) the history of that period, the rolled-up
peer_history_daily plus the raw peer_history not rolled up yet, is summed once per
(torrent, member) into a temporary table; every board of the period reads that table.

Torrent boards (approved, not deleted torrents):
- active: members who transferred or seeded it in the period;
- snatched: all time, the tracker's snatch count; in a period, the members who completed
  it in that period (torrent_history.completed_at, the tracker's snatch time);
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
from psycopg import sql

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

# Statements are composed with psycopg.sql from this module's constant fragments (sql.SQL:
# trusted text; column names as sql.Identifier); every value is a bound %(name)s.
_INSERT = sql.SQL("""
INSERT INTO top10_entries (id, board, period, rank, target_id, label, value, computed_at)
SELECT gen_random_uuid(), %(board)s, %(period)s, row_number() OVER (ORDER BY v.value {order},
       v.target_id), v.target_id, v.label, v.value, %(now)s
FROM ({select}) v
""")

_TORRENT = sql.SQL("JOIN torrents t ON t.id = {key} "
                   "AND t.status = 'approved' AND t.deleted_at IS NULL")
_MEMBER = sql.SQL("JOIN users u ON u.id = {key} AND u.status = 'active' "
                  "AND u.deleted_at IS NULL LEFT JOIN user_privacy pv ON pv.user_id = u.id ")
_STATS = sql.SQL("JOIN torrent_statistics ts ON ts.torrent_id = t.id")


def _torrent_from_pairs(expr: str, having: str = "") -> sql.Composable:
    return sql.SQL(
        "SELECT p.torrent_id AS target_id, MAX(t.name) AS label, {expr} AS value "
        "FROM top10_pairs p {join} GROUP BY p.torrent_id {having} "
        "ORDER BY value DESC, p.torrent_id LIMIT 10").format(
        expr=sql.SQL(expr), join=_TORRENT.format(key=sql.Identifier("p", "torrent_id")),
        having=sql.SQL(having))


def _member(expr_from: sql.Composable, privacy: str) -> sql.Composable:
    return sql.SQL(
        "SELECT s.user_id AS target_id, u.username AS label, s.value FROM ({expr_from}) s "
        "{join} WHERE COALESCE({privacy}, true) AND s.value > 0 "
        "ORDER BY s.value DESC, s.user_id LIMIT 10").format(
        expr_from=expr_from, join=_MEMBER.format(key=sql.Identifier("s", "user_id")),
        privacy=sql.Identifier("pv", privacy))


_UPLOADED_IN = sql.SQL("AND t.created_at >= %(since)s")


def _torrents(value: str, where: str, order: str, *, uploaded_in: bool = False
              ) -> sql.Composable:
    """Approved torrents with their statistics: `value` per torrent, `where` on top, and
    only those uploaded in the period when `uploaded_in`."""
    return sql.SQL(
        "SELECT t.id AS target_id, t.name AS label, {value} AS value FROM torrents t {stats} "
        "WHERE t.status = 'approved' AND t.deleted_at IS NULL {uploaded_in} {where} "
        "ORDER BY {order}, t.id LIMIT 10").format(
        value=sql.SQL(value), stats=_STATS, where=sql.SQL(where), order=sql.SQL(order),
        uploaded_in=_UPLOADED_IN if uploaded_in else sql.SQL(""))


def _selects(period: str) -> dict[str, tuple[sql.Composable, str]]:
    """board -> (SELECT of target_id, label, value; ORDER direction)."""
    uploaded_in = period != Top10Period.ALL
    boards: dict[str, tuple[sql.Composable, str]] = {
        Top10Board.ACTIVE: (_torrent_from_pairs("COUNT(*)"), "DESC"),
        Top10Board.BEST_SEEDED: (_torrents(
            "ts.seeders", "AND ts.seeders > 0", "ts.seeders DESC", uploaded_in=uploaded_in),
            "DESC"),
        Top10Board.WORST_SEEDED: (_torrents(
            "ts.seeders", "AND (ts.leechers > 0 OR ts.snatches > 0)",
            "ts.seeders ASC, ts.leechers DESC", uploaded_in=uploaded_in), "ASC"),
    }
    if period == Top10Period.ALL:
        boards[Top10Board.SNATCHED] = (_torrents(
            "ts.snatches", "AND ts.snatches > 0", "ts.snatches DESC"), "DESC")
        boards[Top10Board.TRANSFERRED] = (_torrents(
            "(ts.total_uploaded + ts.total_downloaded)",
            "AND ts.total_uploaded + ts.total_downloaded > 0", "value DESC"), "DESC")
        users = sql.SQL("SELECT user_id, {col} AS value FROM user_statistics")
        boards[Top10Board.UPLOADERS] = (_member(users.format(col=sql.Identifier("uploaded")),
                                                "show_uploaded"), "DESC")
        boards[Top10Board.DOWNLOADERS] = (_member(
            users.format(col=sql.Identifier("downloaded")), "show_downloaded"), "DESC")
        boards[Top10Board.SEEDERS] = (_member(
            users.format(col=sql.Identifier("seedtime_seconds")), "show_seeding"), "DESC")
    else:
        boards[Top10Board.SNATCHED] = (sql.SQL(
            "SELECT h.torrent_id AS target_id, MAX(t.name) AS label, COUNT(*) AS value "
            "FROM torrent_history h {join} WHERE h.completed_at >= %(since)s "
            "GROUP BY h.torrent_id ORDER BY value DESC, h.torrent_id LIMIT 10").format(
            join=_TORRENT.format(key=sql.Identifier("h", "torrent_id"))), "DESC")
        boards[Top10Board.TRANSFERRED] = (_torrent_from_pairs(
            "SUM(p.up + p.down)", "HAVING SUM(p.up + p.down) > 0"), "DESC")
        pairs = sql.SQL("SELECT user_id, SUM({col}) AS value FROM top10_pairs GROUP BY user_id")
        boards[Top10Board.UPLOADERS] = (_member(pairs.format(col=sql.Identifier("up")),
                                                "show_uploaded"), "DESC")
        boards[Top10Board.DOWNLOADERS] = (_member(pairs.format(col=sql.Identifier("down")),
                                                  "show_downloaded"), "DESC")
        boards[Top10Board.SEEDERS] = (_member(pairs.format(col=sql.Identifier("seed")),
                                              "show_seeding"), "DESC")
    boards[Top10Board.BONUS] = (_member(sql.SQL(
        "SELECT user_id, SUM(amount) AS value FROM bonus_transactions "
        "WHERE transaction_type = 'earning' AND created_at >= %(since)s GROUP BY user_id"),
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
                cursor.execute(_INSERT.format(select=select, order=sql.SQL(order)),
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
