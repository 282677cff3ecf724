"""Writing buffered announces to PostgreSQL in batches, idempotently.

Each announce leaves one JSON entry on the buffer list in Redis (swarm.py). A flush:
1. `flush_take`: moves up to TRACKER_FLUSH_BATCH entries to a processing list under a new
   batch id, atomically; if a previous flush died holding a batch, that batch is taken
   again instead (nothing acknowledged to a client is dropped);
2. `flush_write`: one transaction, one statement per table (announces, peer_history, peers,
   user_statistics, torrent_statistics, and freeleech_tokens when a token freed bytes) plus
   the batch's row in tracker_flush_batches. If that row already exists the batch was
   written before a crash and is skipped (nothing is counted twice);
3. `flush_release`: deletes the processing list.

A batch PostgreSQL refuses (an entry no statement can take) never blocks the buffer: it is
written as two halves, each under an id derived from the batch's, down to single entries;
an entry refused even alone is set aside (tracker_set_aside_entries and the Redis list
`rejected_key()`, both counted by staff and metrics) and the rest lands. The batch's row,
marked `split`, is committed before the halves, so a replay after a crash takes the same
halves again and each half's own row keeps it from counting twice.

Counters saturate at bigint's maximum rather than overflow (the announce script already
caps every delta by a physical rate; this is the last line, not the first).

Hand-written SQL because the ORM has no multi-row upsert with arithmetic on conflict
(`bulk_create(update_conflicts=True)` can only overwrite) and per-row updates would cost
a statement per member and torrent per batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction
from psycopg import sql

from domain.events import member_stats_changed
from domain.tracker import store
from domain.tracker.history import entry_completed, history_write
from domain.tracker.models import FlushBatch
from domain.tracker.refusals import refused_claims_write
from domain.tracker.swarm import MAX_COUNTER

log = logging.getLogger(__name__)

TAKE_LUA = r"""
local id = redis.call('GET', KEYS[2])
if id then return id end
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then return false end
redis.call('LTRIM', KEYS[1], #items, -1)
for i = 1, #items, 500 do
  redis.call('RPUSH', KEYS[3], unpack(items, i, math.min(i + 499, #items)))
end
redis.call('SET', KEYS[2], ARGV[2])
return ARGV[2]
"""

RELEASE_LUA = r"""
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Batch:
    id: uuid.UUID
    entries: list[dict[str, Any]]


def rejected_key() -> str:
    """Ids of buffer entries the flush set aside (tracker_set_aside_entries has them)."""
    return f"{store.buffer_key()}:rejected"


def set_aside_count() -> int:
    """Entries set aside and not yet looked at (for metrics: alert when above 0)."""
    return int(store.client().llen(rejected_key()))


def _items_key() -> str:
    return store.flushing_key() + ":items"


def _durable_wait(taken_at: float) -> None:
    """Hold a batch back until Redis has it on disk (TRACKER_FLUSH_DURABLE_SECONDS after
    the take; appendfsync everysec writes within a second or two). Then PostgreSQL never
    holds an announce, or a batch id, that a Redis crash could still take back: a lost
    announce takes its peer's new baseline with it (credited at the next announce, once),
    and a lost take cannot hand the same entries out again under a new id."""
    wait = taken_at + float(settings.TRACKER_FLUSH_DURABLE_SECONDS) - time.time()
    if wait > 0 and _persistent():
        time.sleep(wait)


def _persistent() -> bool:
    """Whether the tracker's Redis writes an append-only file (without one there is no
    disk to wait for; a Redis that refuses CONFIG is assumed to have one)."""
    try:
        got: dict[Any, Any] = store.client().config_get("appendonly")  # type: ignore[assignment]
    except redis.RedisError:
        return True
    values = {(k.decode() if isinstance(k, bytes) else k): v for k, v in got.items()}
    value = values.get("appendonly", "")
    return (value.decode() if isinstance(value, bytes) else str(value)) != "no"


def flush_take() -> Batch | None:
    r = store.client()
    got = r.eval(TAKE_LUA, 3, store.buffer_key(), store.flushing_key(), _items_key(),
                 int(settings.TRACKER_FLUSH_BATCH), str(uuid.uuid4()))
    if not got:
        return None
    batch_id = uuid.UUID(got.decode())
    entries = []
    raws: list[bytes] = r.lrange(_items_key(), 0, -1)  # type: ignore[assignment]
    for raw in raws:
        try:
            entry = json.loads(raw)
            if not isinstance(entry, dict):
                raise ValueError("not an object")
            entries.append(entry)
        except ValueError as exc:
            # Never expected (every text in an entry is escaped), but one entry that does
            # not parse must not stop every later batch: it is kept aside for inspection.
            _set_aside(uuid.uuid5(batch_id, hashlib.sha1(raw).hexdigest()), batch_id,  # noqa: S324
                       raw.decode(errors="replace"), f"not a JSON object: {exc}")
            r.lrem(_items_key(), 1, raw)  # type: ignore[arg-type]  # once, even if retaken
    return Batch(id=batch_id, entries=entries)


def flush_release(batch: Batch) -> None:
    store.client().eval(RELEASE_LUA, 2, store.flushing_key(), _items_key(), str(batch.id))


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


class _Split(Exception):
    """The batch was split by an earlier try: write its halves."""


# What an entry PostgreSQL or the statements' preparation cannot take raises. A lost
# connection (OperationalError) is not one of them: that batch is retried whole next time.
ENTRY_ERRORS = (DataError, IntegrityError, KeyError, TypeError, ValueError, OverflowError)


def flush_write(batch: Batch) -> bool:
    """Write one batch. False when it had been written already (a replay after a crash)."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("INSERT INTO tracker_flush_batches (id, entries, flushed_at) "
                    "VALUES (%s, %s, now()) ON CONFLICT (id) DO NOTHING RETURNING id",
                    [batch.id, len(batch.entries)])
        if cur.fetchone() is None:
            cur.execute("SELECT split FROM tracker_flush_batches WHERE id = %s", [batch.id])
            row = cur.fetchone()
            if row is not None and row[0]:
                raise _Split
            return False
        entries = _still_existing(cur, batch.entries)
        if entries:
            _write_announces(cur, entries)
            _write_peer_history(cur, entries)
            _write_peers(cur, entries)
            history_write(cur, entries)  # torrent_history reads the peers just written
            _write_user_statistics(cur, entries)
            _write_torrent_statistics(cur, entries)
            _write_token_use(cur, entries)
            refused_claims_write(cur, entries)
    return True


def flush_write_splitting(batch: Batch) -> int:
    """Write a batch, splitting it around entries PostgreSQL refuses (set aside). Returns
    the entries written now (0 for a batch written before)."""
    try:
        return len(batch.entries) if flush_write(batch) else 0
    except _Split:
        pass
    except ENTRY_ERRORS as exc:
        if len(batch.entries) <= 1:
            for entry in batch.entries:
                _set_aside(batch.id, batch.id, json.dumps(entry, default=str),
                           f"{type(exc).__name__}: {exc}")
            return 0
        log.warning("tracker flush: batch %s (%d entries) refused (%s: %s); writing halves",
                    batch.id, len(batch.entries), type(exc).__name__, exc)
        with connection.cursor() as cur:
            cur.execute("INSERT INTO tracker_flush_batches (id, entries, flushed_at, split) "
                        "VALUES (%s, %s, now(), true) ON CONFLICT (id) DO NOTHING",
                        [batch.id, len(batch.entries)])
    mid = len(batch.entries) // 2
    return sum(flush_write_splitting(Batch(id=uuid.uuid5(batch.id, half), entries=part))
               for half, part in (("0", batch.entries[:mid]), ("1", batch.entries[mid:])))


def _set_aside(entry_id: uuid.UUID, batch_id: uuid.UUID, raw: str, error: str) -> None:
    """Keep an entry nobody can write for staff, under an id of its own batch's so a
    replay keeps it once; its batch row makes a replay skip it (it is never credited)."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("INSERT INTO tracker_flush_batches (id, entries, flushed_at) "
                    "VALUES (%s, 0, now()) ON CONFLICT (id) DO NOTHING", [entry_id])
        cur.execute("INSERT INTO tracker_set_aside_entries (id, created_at, batch_id, raw, "
                    "error) VALUES (%s, now(), %s, %s, %s) ON CONFLICT (id) DO NOTHING "
                    "RETURNING id", [entry_id, batch_id, raw.replace("\x00", ""),
                                     error[:2000].replace("\x00", "")])
        new = cur.fetchone() is not None
    if new:
        log.error("tracker flush: an entry was set aside (%s): %s", error[:200], raw[:200])
        store.client().rpush(rejected_key(), str(entry_id))


def set_aside_forget(entry_ids: list[str]) -> None:
    """Staff dealt with these set-aside entries (admin deleted their rows)."""
    r = store.client()
    for entry_id in entry_ids:
        r.lrem(rejected_key(), 0, entry_id)


def _still_existing(cur: Any, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries whose torrent and member still exist (one may be deleted since the announce:
    its accounting goes with it rather than blocking every later batch)."""
    tids = sorted({e["t"] for e in entries})
    uids = sorted({e["u"] for e in entries})
    cur.execute("SELECT id::text FROM torrents WHERE id = ANY(%s::uuid[])", [tids])
    live_t = {row[0] for row in cur.fetchall()}
    cur.execute("SELECT id::text FROM users WHERE id = ANY(%s::uuid[])", [uids])
    live_u = {row[0] for row in cur.fetchall()}
    return [e for e in entries if e["t"] in live_t and e["u"] in live_u]


def _write_announces(cur: Any, entries: list[dict[str, Any]]) -> None:
    cur.execute(
        """INSERT INTO announces (id, created_at, torrent_id, user_id, peer_id, ip, port,
               event, uploaded, downloaded, "left", uploaded_delta, downloaded_delta,
               credited_uploaded, credited_downloaded, numwant, client, user_agent)
           SELECT gen_random_uuid(), * FROM unnest(%s::timestamptz[], %s::uuid[], %s::uuid[],
               %s::bytea[], %s::inet[], %s::int[], %s::text[], %s::bigint[], %s::bigint[],
               %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[],
               %s::smallint[], %s::text[], %s::text[])""",
        [[_ts(e["ts"]) for e in entries], [e["t"] for e in entries],
         [e["u"] for e in entries], [bytes.fromhex(e["pid"]) for e in entries],
         [e["ip"] for e in entries], [e["port"] for e in entries],
         [e["ev"] for e in entries], [e["up"] for e in entries],
         [e["down"] for e in entries], [e["left"] for e in entries],
         [e["du"] for e in entries], [e["dd"] for e in entries],
         [e["cu"] for e in entries], [e["cd"] for e in entries],
         [min(e["nw"], 32767) for e in entries], [e["cl"][:64] for e in entries],
         [e["ua"][:255] for e in entries]])


def _write_peer_history(cur: Any, entries: list[dict[str, Any]]) -> None:
    cur.execute(
        """INSERT INTO peer_history (id, recorded_at, torrent_id, user_id, peer_id,
               uploaded_delta, downloaded_delta, "left", is_seeder, seedtime_seconds,
               leechtime_seconds)
           SELECT gen_random_uuid(), * FROM unnest(%s::timestamptz[], %s::uuid[], %s::uuid[],
               %s::bytea[], %s::bigint[], %s::bigint[], %s::bigint[], %s::boolean[],
               %s::int[], %s::int[])""",
        [[_ts(e["ts"]) for e in entries], [e["t"] for e in entries],
         [e["u"] for e in entries], [bytes.fromhex(e["pid"]) for e in entries],
         [e["du"] for e in entries], [e["dd"] for e in entries],
         [e["left"] for e in entries], [bool(e["sd"]) for e in entries],
         [e["ss"] for e in entries], [e["ls"] for e in entries]])


def _write_peers(cur: Any, entries: list[dict[str, Any]]) -> None:
    """The peers table mirrors the swarm: the last state of each (torrent, member,
    peer_id) in the batch is upserted, or deleted when it was a `stopped`."""
    last: dict[tuple[str, str, str], dict[str, Any]] = {}
    agg: dict[tuple[str, str, str], list[float]] = {}
    for e in entries:
        k = (e["t"], e["u"], e["pid"])
        a = agg.setdefault(k, [0, 0, 0, e["ts"], 0])
        a[0] += 1
        a[1] += e["ss"]
        a[2] += e["ls"]
        if entry_completed(e):
            a[4] = e["ts"]
        last[k] = e
    keep = [k for k, e in last.items() if e["ev"] != "stopped"]
    gone = [k for k, e in last.items() if e["ev"] == "stopped"]
    cur.execute(
        """WITH gone AS (
               DELETE FROM peers p USING unnest(%s::uuid[], %s::uuid[], %s::bytea[])
                   AS g(t, u, pid)
               WHERE p.torrent_id = g.t AND p.user_id = g.u AND p.peer_id = g.pid)
           INSERT INTO peers (id, torrent_id, user_id, peer_id, peer_key, ip, port,
               uploaded, downloaded, "left", is_seeder, client, user_agent, announce_count,
               seedtime_seconds, leechtime_seconds, started_at, last_announce_at,
               completed_at)
           SELECT gen_random_uuid(), * FROM unnest(%s::uuid[], %s::uuid[], %s::bytea[],
               %s::text[], %s::inet[], %s::int[], %s::bigint[], %s::bigint[], %s::bigint[],
               %s::boolean[], %s::text[], %s::text[], %s::int[], %s::bigint[], %s::bigint[],
               %s::timestamptz[], %s::timestamptz[], %s::timestamptz[])
           ON CONFLICT (torrent_id, user_id, peer_id) DO UPDATE SET
               peer_key = EXCLUDED.peer_key, ip = EXCLUDED.ip, port = EXCLUDED.port,
               uploaded = EXCLUDED.uploaded, downloaded = EXCLUDED.downloaded,
               "left" = EXCLUDED."left", is_seeder = EXCLUDED.is_seeder,
               client = EXCLUDED.client, user_agent = EXCLUDED.user_agent,
               announce_count = peers.announce_count + EXCLUDED.announce_count,
               seedtime_seconds = peers.seedtime_seconds + EXCLUDED.seedtime_seconds,
               leechtime_seconds = peers.leechtime_seconds + EXCLUDED.leechtime_seconds,
               last_announce_at = GREATEST(peers.last_announce_at,
                                           EXCLUDED.last_announce_at),
               completed_at = COALESCE(peers.completed_at, EXCLUDED.completed_at)""",
        [[k[0] for k in gone], [k[1] for k in gone], [bytes.fromhex(k[2]) for k in gone],
         [k[0] for k in keep], [k[1] for k in keep], [bytes.fromhex(k[2]) for k in keep],
         [last[k]["k"][:64] for k in keep], [last[k]["ip"] for k in keep],
         [last[k]["port"] for k in keep], [last[k]["up"] for k in keep],
         [last[k]["down"] for k in keep], [last[k]["left"] for k in keep],
         [bool(last[k]["sd"]) for k in keep], [last[k]["cl"][:64] for k in keep],
         [last[k]["ua"][:255] for k in keep], [int(agg[k][0]) for k in keep],
         [int(agg[k][1]) for k in keep], [int(agg[k][2]) for k in keep],
         [_ts(agg[k][3]) for k in keep], [_ts(last[k]["ts"]) for k in keep],
         [_ts(agg[k][4]) if agg[k][4] else None for k in keep]])


# A member's seeding_count, leeching_count and seeding_size from the peers table, for the
# member id `d.u`: shared by the flush and the reaper (reaper.py) so the two never disagree.
PEER_COUNTS_OF_D_U = """
               (SELECT count(DISTINCT p.torrent_id) FROM peers p
                 WHERE p.user_id = d.u AND p.is_seeder),
               (SELECT count(DISTINCT p.torrent_id) FROM peers p
                 WHERE p.user_id = d.u AND NOT p.is_seeder),
               (SELECT coalesce(sum(t.size), 0) FROM torrents t WHERE t.id IN
                   (SELECT p.torrent_id FROM peers p WHERE p.user_id = d.u AND p.is_seeder))"""


def _with_peer_counts(cur: Any, template: str, **parts: sql.Composable) -> str:
    return sql.SQL(template).format(peer_counts=sql.SQL(PEER_COUNTS_OF_D_U),
                                    **parts).as_string(cur.cursor)


def _saturating_sum(table: str, column: str) -> sql.Composable:
    """`table.column + EXCLUDED.column`, held at bigint's maximum (summed as numeric, so
    the sum itself cannot overflow)."""
    return sql.SQL("LEAST({t}.{c}::numeric + EXCLUDED.{c}, {m})::bigint").format(
        t=sql.Identifier(table), c=sql.Identifier(column), m=sql.Literal(MAX_COUNTER))


def _clamp(value: int) -> int:
    """A batch's sum, as a bigint parameter can carry it."""
    return min(value, MAX_COUNTER)


def user_peer_counts_refresh(cur: Any, user_ids: list[str]) -> None:
    """Recompute seeding/leeching counts and seeding size of these members from the peers
    table (after peers left it other than through a flush: the reaper)."""
    if not user_ids:
        return
    ids = sorted(set(user_ids))
    # Rows locked in user id order, the order the flush writes them in: a reaper and a
    # flush touching the same members can never wait on each other in a cycle.
    cur.execute("SELECT 1 FROM user_statistics WHERE user_id = ANY(%s::uuid[]) "
                "ORDER BY user_id FOR UPDATE", [ids])
    cur.execute(
        _with_peer_counts(cur, """UPDATE user_statistics us SET (seeding_count,
               leeching_count, seeding_size, updated_at) = (SELECT {peer_counts}, now())
           FROM unnest(%s::uuid[]) AS d(u)
           WHERE us.user_id = d.u"""),
        [ids])
    member_stats_changed(ids)


def _write_user_statistics(cur: Any, entries: list[dict[str, Any]]) -> None:
    """Credited and raw transfer, snatches and seed time per member; seeding/leeching
    counts recomputed from the peers rows written just before (same transaction)."""
    per: dict[str, list[int]] = {}
    for e in entries:
        a = per.setdefault(e["u"], [0, 0, 0, 0, 0, 0])
        a[0] += e["cu"]
        a[1] += e["cd"]
        a[2] += e["du"]
        a[3] += e["dd"]
        a[4] += e["sn"]
        a[5] += e["ss"]
    per = dict(sorted(per.items()))  # rows written in user id order (see the reaper)
    users = list(per)
    col = [[_clamp(v) for v in c] for c in zip(*per.values(), strict=True)]
    cur.execute(
        _with_peer_counts(cur, """INSERT INTO user_statistics (id, user_id, uploaded,
               downloaded, uploaded_raw,
               downloaded_raw, snatched_count, seedtime_seconds, seeding_count,
               leeching_count, seeding_size, uploads_count, requests_filled_count,
               requests_voted_count, forum_posts_count, comments_count, invites_sent_count,
               updated_at)
           SELECT gen_random_uuid(), d.u, d.cu, d.cd, d.du, d.dd, d.sn, d.ss, {peer_counts},
               0, 0, 0, 0, 0, 0, now()
           FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[],
                       %s::int[], %s::bigint[]) AS d(u, cu, cd, du, dd, sn, ss)
           ON CONFLICT (user_id) DO UPDATE SET
               uploaded = {sat_uploaded},
               downloaded = {sat_downloaded},
               uploaded_raw = {sat_uploaded_raw},
               downloaded_raw = {sat_downloaded_raw},
               snatched_count = user_statistics.snatched_count + EXCLUDED.snatched_count,
               seedtime_seconds = {sat_seedtime_seconds},
               seeding_count = EXCLUDED.seeding_count,
               leeching_count = EXCLUDED.leeching_count,
               seeding_size = EXCLUDED.seeding_size,
               updated_at = now()""", **{
            f"sat_{c}": _saturating_sum("user_statistics", c) for c in (
                "uploaded", "downloaded", "uploaded_raw", "downloaded_raw",
                "seedtime_seconds")}),
        [users, *col])
    member_stats_changed(users)


def _write_torrent_statistics(cur: Any, entries: list[dict[str, Any]]) -> None:
    per: dict[str, dict[str, Any]] = {}
    for e in entries:
        a = per.setdefault(e["t"], {"sn": 0, "du": 0, "dd": 0, "seed_at": None})
        a["sn"] += e["sn"]
        a["du"] += e["du"]
        a["dd"] += e["dd"]
        a["seeders"], a["leechers"], a["at"] = e["seeders"], e["leechers"], e["ts"]
        if e["sd"] and e["ev"] != "stopped":
            a["seed_at"] = e["ts"]
    tids = list(per)
    rows = [per[t] for t in tids]
    cur.execute(sql.SQL(
        """INSERT INTO torrent_statistics (id, created_at, updated_at, torrent_id, seeders,
               leechers, snatches, total_uploaded, total_downloaded, last_seeder_at,
               last_activity_at)
           SELECT gen_random_uuid(), now(), now(), * FROM unnest(%s::uuid[], %s::int[],
               %s::int[], %s::int[], %s::bigint[], %s::bigint[], %s::timestamptz[],
               %s::timestamptz[])
           ON CONFLICT (torrent_id) DO UPDATE SET
               seeders = EXCLUDED.seeders, leechers = EXCLUDED.leechers,
               snatches = torrent_statistics.snatches + EXCLUDED.snatches,
               total_uploaded = {sat_up},
               total_downloaded = {sat_down},
               last_seeder_at = GREATEST(torrent_statistics.last_seeder_at,
                                         EXCLUDED.last_seeder_at),
               last_activity_at = GREATEST(torrent_statistics.last_activity_at,
                                           EXCLUDED.last_activity_at),
               updated_at = now()""").format(
            sat_up=_saturating_sum("torrent_statistics", "total_uploaded"),
            sat_down=_saturating_sum("torrent_statistics", "total_downloaded")
        ).as_string(cur.cursor),
        [tids, [r["seeders"] for r in rows], [r["leechers"] for r in rows],
         [r["sn"] for r in rows], [_clamp(r["du"]) for r in rows],
         [_clamp(r["dd"]) for r in rows],
         [_ts(r["seed_at"]) if r["seed_at"] else None for r in rows],
         [_ts(r["at"]) for r in rows]])


def _write_token_use(cur: Any, entries: list[dict[str, Any]]) -> None:
    """Bytes freeleech tokens freed ("tf", spent from their Redis counter by the announce
    script) added to their downloaded_bytes; in the batch's transaction, so a replayed
    batch adds nothing. No statement when the batch used no token."""
    per: dict[str, int] = {}
    for e in entries:
        if e.get("tf") and e.get("tk"):
            per[e["tk"]] = per.get(e["tk"], 0) + e["tf"]
    if not per:
        return
    cur.execute(
        """UPDATE freeleech_tokens ft SET downloaded_bytes =
               LEAST(ft.downloaded_bytes::numeric + d.tf, 9223372036854775807)::bigint,
               updated_at = now()
           FROM unnest(%s::uuid[], %s::bigint[]) AS d(id, tf)
           WHERE ft.id = d.id""",
        [list(per), [_clamp(v) for v in per.values()]])


def tracker_flush(*, max_batches: int = 100) -> int:
    """Write everything buffered (up to max_batches batches). Returns entries written."""
    written = 0
    for _ in range(max_batches):
        taken_at = time.time()
        batch = flush_take()
        if batch is None:
            break
        _durable_wait(taken_at)
        written += flush_write_splitting(batch)
        flush_release(batch)
    return written


def flush_batches_prune(*, keep_days: int = 7) -> int:
    """Batch ids only guard against a replay within minutes; old ones can go."""
    from datetime import timedelta

    from django.utils import timezone

    cutoff = timezone.now() - timedelta(days=keep_days)
    return FlushBatch.objects.filter(flushed_at__lt=cutoff).delete()[0]
