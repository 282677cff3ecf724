"""torrent_history, written by the flush: one row per member per torrent.

Called from `flush_write` with the batch's cursor, after the peers rows are written (same
transaction), so a replayed batch writes nothing twice and `seeding_until`/`active_until`
read the peers exactly as the batch left them.

Seed time is what the hit-and-run rule judges, so it is stricter than the swarm's:
- only the time between two consecutive seeding announces at most
  HISTORY_SEED_GAP_INTERVALS announce intervals apart accrues (a client that vanished for
  longer than that and came back is not credited the gap; the swarm keeps a peer for two
  intervals, which is what peer_history and user_statistics still count);
- it is wall-clock time: two clients of one member seeding the same torrent at once count
  once (the union of their intervals; `seed_credited_until` is where credit ended).

Hand-written SQL for the reason flush.py gives: a multi-row upsert with arithmetic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.tracker.conf import setting

HISTORY_SEED_GAP_INTERVALS = 1.5
# A member's peers count as gone once their last announce is this many intervals old,
# as the swarm's own stale rule has it.
STALE_INTERVALS = 2


def seed_gap_limit() -> float:
    """Longest gap between two seeding announces that still earns seed time (seconds)."""
    return HISTORY_SEED_GAP_INTERVALS * int(setting("TRACKER_ANNOUNCE_INTERVAL"))


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def entry_completed(e: dict[str, Any]) -> bool:
    """Whether this announce completed the download: its `completed`, or (the script's
    "cp") a leecher's first announce with nothing left and bytes downloaded, which some
    clients send instead (entries buffered before "cp" existed have only the event)."""
    return bool(e.get("cp")) or e["ev"] == "completed"


def _union_credit(intervals: list[tuple[float, float]], credited_until: float
                  ) -> tuple[int, float]:
    """Seconds in the union of `intervals` after `credited_until`, and the new end."""
    total = 0.0
    until = credited_until
    for start, end in sorted(intervals):
        start = max(start, until)
        if end > start:
            total += end - start
            until = end
    return int(total), until


def history_write(cur: Any, entries: list[dict[str, Any]]) -> None:
    """Add a batch's entries to torrent_history (one SELECT and one upsert per batch)."""
    if not entries:
        return
    gap = seed_gap_limit()
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for e in sorted(entries, key=lambda x: x["ts"]):
        g = groups.get((e["u"], e["t"]))
        if g is None:
            g = groups[(e["u"], e["t"])] = {
                "cu": 0, "cd": 0, "du": 0, "dd": 0, "ls": 0, "first": e["ts"],
                "done": None, "seed": []}
        g["cu"] += e["cu"]
        g["cd"] += e["cd"]
        g["du"] += e["du"]
        g["dd"] += e["dd"]
        g["ls"] += e["ls"]
        g["last"] = e["ts"]
        g["cl"] = e["cl"][:64]
        if g["done"] is None and entry_completed(e):
            g["done"] = e["ts"]
        if 0 < e["ss"] <= gap:
            g["seed"].append((e["ts"] - e["ss"], e["ts"]))
    keys = sorted(groups)
    users = [k[0] for k in keys]
    torrents = [k[1] for k in keys]
    # Locked in (user, torrent) order: two writers of the same rows never wait in a cycle.
    cur.execute(
        """SELECT h.user_id::text, h.torrent_id::text,
                  extract(epoch FROM h.seed_credited_until)::float8
           FROM torrent_history h
           JOIN unnest(%s::uuid[], %s::uuid[]) AS d(u, t)
             ON h.user_id = d.u AND h.torrent_id = d.t
           ORDER BY h.user_id, h.torrent_id FOR UPDATE OF h""",
        [users, torrents])
    credited = {(row[0], row[1]): row[2] for row in cur.fetchall()}
    seed: list[int] = []
    seed_until: list[datetime | None] = []
    for k in keys:
        before = credited.get(k)
        secs, until = _union_credit(groups[k]["seed"], before or 0.0)
        seed.append(secs)
        seed_until.append(_ts(until) if until else None)
    stale = STALE_INTERVALS * int(setting("TRACKER_ANNOUNCE_INTERVAL"))
    rows = [groups[k] for k in keys]
    cur.execute(
        """INSERT INTO torrent_history (id, user_id, torrent_id, uploaded, downloaded,
               uploaded_raw, downloaded_raw, seedtime_seconds, leechtime_seconds,
               seed_credited_until, client, first_announce_at, last_announce_at,
               completed_at, seeding_until, active_until, immune)
           SELECT gen_random_uuid(), d.u, d.t, d.cu, d.cd, d.du, d.dd, d.ss, d.ls, d.until,
               d.cl, d.first, d.last, d.done,
               (SELECT max(p.last_announce_at) FROM peers p
                 WHERE p.user_id = d.u AND p.torrent_id = d.t AND p.is_seeder)
                 + make_interval(secs => %s),
               (SELECT max(p.last_announce_at) FROM peers p
                 WHERE p.user_id = d.u AND p.torrent_id = d.t)
                 + make_interval(secs => %s),
               false
           FROM unnest(%s::uuid[], %s::uuid[], %s::bigint[], %s::bigint[], %s::bigint[],
                       %s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[],
                       %s::text[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[])
               AS d(u, t, cu, cd, du, dd, ss, ls, until, cl, first, last, done)
           ON CONFLICT (user_id, torrent_id) DO UPDATE SET
               uploaded = torrent_history.uploaded + EXCLUDED.uploaded,
               downloaded = torrent_history.downloaded + EXCLUDED.downloaded,
               uploaded_raw = torrent_history.uploaded_raw + EXCLUDED.uploaded_raw,
               downloaded_raw = torrent_history.downloaded_raw + EXCLUDED.downloaded_raw,
               seedtime_seconds = torrent_history.seedtime_seconds
                                  + EXCLUDED.seedtime_seconds,
               leechtime_seconds = torrent_history.leechtime_seconds
                                   + EXCLUDED.leechtime_seconds,
               seed_credited_until = GREATEST(torrent_history.seed_credited_until,
                                              EXCLUDED.seed_credited_until),
               client = EXCLUDED.client,
               first_announce_at = LEAST(torrent_history.first_announce_at,
                                         EXCLUDED.first_announce_at),
               last_announce_at = GREATEST(torrent_history.last_announce_at,
                                           EXCLUDED.last_announce_at),
               completed_at = COALESCE(torrent_history.completed_at, EXCLUDED.completed_at),
               seeding_until = EXCLUDED.seeding_until,
               active_until = EXCLUDED.active_until""",
        [stale, stale, users, torrents, [r["cu"] for r in rows], [r["cd"] for r in rows],
         [r["du"] for r in rows], [r["dd"] for r in rows], seed, [r["ls"] for r in rows],
         seed_until, [r["cl"] for r in rows], [_ts(r["first"]) for r in rows],
         [_ts(r["last"]) for r in rows],
         [_ts(r["done"]) if r["done"] else None for r in rows]])
