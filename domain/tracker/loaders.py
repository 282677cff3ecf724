"""The tracker's database loaders: what an announce needs, read in bulk and stored in Redis.

Two callers, one set of queries and one way of turning rows into records:
- `bulk_load` at start (cache.warm_keeper): every member and every torrent, streamed through
  server-side cursors and written to Redis in pipelined chunks, as Ocelot loads all users
  and torrents when it starts. A site of 50k members and 200k torrents is loaded in seconds,
  so a deploy, a Redis restart or a FLUSHDB costs no storm of misses;
- `fill` for misses (cache.lookup_filled_async coalesces concurrent announces' misses): one
  query per kind (members, their tokens, torrents, addresses) for a whole batch.

Plain SQL on the tables rather than the ORM: model instances were most of the cost at this
size, and a torrent row carries its info dict, which the tracker never needs. The refusal
texts are decided here once, for both callers.

Records are stored only if no invalidation happened while they were read (the epoch key,
which every invalidation bumps atomically with its deletes): a record read just before a
ban and written just after it would otherwise stay in Redis, since records of members and
torrents no longer expire on a timer (TRACKER_CACHE_SECONDS = 0: invalidation keeps them
current). Negative answers (unknown passkey or info_hash) are stored for
TRACKER_NEGATIVE_CACHE_SECONDS, at most TRACKER_NEGATIVE_CACHE_PER_IP of them per source
address (IPv6: per /64) in that window, so random hashes from one address cannot grow Redis
without bound; answers past the budget are served, not stored.

Nothing here imports accounts, moderation or bonus code: the tables are read directly, which
is what keeps the tracker cache out of the accounts <-> moderation <-> tracker circle.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection

from domain.metrics import CACHE_RECORDS_FILLED
from domain.tracker import store
from domain.tracker.conf import setting
from domain.tracker.records import NOT_BANNED, IpBanRecord, MemberRecord, TorrentRecord, encode

log = logging.getLogger(__name__)

# Perm.DOWNLOAD's code (domain.accounts.permissions; a literal, to import nothing of
# accounts here). tests/domain/tracker/test_loaders.py checks the two agree.
PERM_DOWNLOAD = "download"

_MEMBER_SQL = """
SELECT u.id::text, u.passkey, u.status, g.display_name, g.max_peers_per_torrent,
       %(download)s = ANY(g.permissions),
       ab.reason, ab.expires_at, db.reason, db.expires_at
FROM users u
JOIN user_groups g ON g.id = u.group_id
LEFT JOIN LATERAL (
    SELECT b.reason, b.expires_at FROM bans b
    WHERE b.user_id = u.id AND b.ban_type = 'account' AND b.revoked_at IS NULL
      AND (b.expires_at IS NULL OR b.expires_at > %(now)s)
    ORDER BY b.created_at DESC LIMIT 1) ab ON true
LEFT JOIN LATERAL (
    SELECT b.reason, b.expires_at FROM bans b
    WHERE b.user_id = u.id AND b.ban_type = 'download' AND b.revoked_at IS NULL
      AND (b.expires_at IS NULL OR b.expires_at > %(now)s)
    ORDER BY b.created_at DESC LIMIT 1) db ON true
WHERE u.deleted_at IS NULL
"""

_ALLOWANCE_SQL = """
SELECT t.user_id::text, t.id::text, t.torrent_id::text, t.expires_at, t.downloaded_bytes,
       t.max_download_bytes
FROM freeleech_tokens t
WHERE t.status = 'active' AND t.torrent_id IS NOT NULL
"""

_TORRENT_SQL = """
SELECT t.id::text, t.info_hash_v1, t.info_hash_v2, t.status, t.deleted_at IS NOT NULL,
       t.size, t.is_freeleech, t.freeleech_until, t.is_neutral_leech, t.is_double_upload,
       coalesce(s.snatches, 0)
FROM torrents t
LEFT JOIN torrent_statistics s ON s.torrent_id = t.id
"""

# The truncated v2 hash (BEP 52) finds a v2 or hybrid torrent too; the expression matches
# the index of sql/0300_torrents_v2_short_hash.sql.
_TORRENT_WHERE = """
WHERE t.info_hash_v1 = ANY(%(h20)s) OR t.info_hash_v2 = ANY(%(h32)s)
   OR (t.info_hash_v2 IS NOT NULL AND substring(t.info_hash_v2 from 1 for 20) = ANY(%(h20)s))
"""

_IP_BAN_SQL = """
SELECT a.n, b.reason, b.expires_at
FROM unnest(%(ips)s::inet[]) WITH ORDINALITY AS a(ip, n)
JOIN LATERAL (
    SELECT reason, expires_at FROM bans
    WHERE ban_type = 'ip' AND revoked_at IS NULL
      AND (expires_at IS NULL OR expires_at > %(now)s) AND ip_range >>= a.ip
    ORDER BY created_at DESC LIMIT 1) b ON true
"""

# Stores a chunk of records unless an invalidation ran since they were read. KEYS: 1 the
# epoch, then the records' keys. ARGV: 1 the epoch as read before the database was,
# 2 the negative budget per address, 3 the negative TTL, then per key: its value, its TTL
# (0: none) and, for a negative answer, the key of its address's budget ("" otherwise).
STORE_LUA = r"""
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return -1 end
local budget, neg_ttl, stored = tonumber(ARGV[2]), tonumber(ARGV[3]), 0
for i = 2, #KEYS do
  local a = 4 + (i - 2) * 3
  local value, ttl, counter = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2]
  local ok = true
  if counter ~= '' then
    local n = redis.call('INCR', counter)
    if n == 1 then redis.call('EXPIRE', counter, neg_ttl) end
    ok = n <= budget
  end
  if ok then
    if ttl > 0 then redis.call('SET', KEYS[i], value, 'EX', ttl)
    else redis.call('SET', KEYS[i], value) end
    stored = stored + 1
  end
end
return stored
"""

# Seeds a token's counter: the cap follows the database (staff may change it), bytes used
# never go down (the database lags by what is still buffered; it may also be ahead when
# the expiry job counted peer_history). It outlives any member record that names it.
ALLOWANCE_INIT_LUA = r"""
redis.call('HSET', KEYS[1], 'max', ARGV[1])
local used = tonumber(redis.call('HGET', KEYS[1], 'used'))
if not used or used < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], 'used', ARGV[2]) end
if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3])
else redis.call('PERSIST', KEYS[1]) end
"""


@dataclass(frozen=True, slots=True)
class TokenAllowance:
    """An active freeleech token as the database has it, to seed its Redis counter."""

    id: str
    torrent_id: str
    max_bytes: int  # -1: no cap
    used_bytes: int  # downloaded_bytes as flushed so far
    expires_at: float = math.inf


@dataclass(slots=True)
class Filled:
    """What one `fill` read: records by what was asked (None: unknown)."""

    members: dict[str, MemberRecord | None] = field(default_factory=dict)
    torrents: dict[bytes, TorrentRecord | None] = field(default_factory=dict)
    ip_bans: dict[str, IpBanRecord] = field(default_factory=dict)
    rules: dict[str, list[list[str]]] | None = None
    queries: int = 0  # database round trips it took (tests bound it)


# --- Rows to records -----------------------------------------------------------------------

def _now() -> datetime:
    # The application's clock, not the database's now(): that is the start of the
    # transaction, and a ban must stop counting the moment it ends.
    return datetime.now(UTC)


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value is not None else math.inf


def member_from_row(row: tuple[Any, ...], tokens: list[TokenAllowance],
                    restriction: str = "") -> MemberRecord:
    """`restriction`: why hit-and-runs or an expired ratio watch stop this member leeching
    (member_leech_restrictions, below), or ""."""
    (user_id, _passkey, status, group_name, max_peers, can_download,
     account_reason, account_until, download_reason, download_until) = row
    refusal = ""
    if status == "validating":
        refusal = ("Your account is not confirmed yet: confirm your email address, then "
                   "announce again.")
    elif status == "disabled":
        refusal = "Your account is disabled: contact staff to have it enabled."
    elif status == "banned":
        refusal = "Your account is banned: see the site for the reason and how to appeal."
    valid_until = math.inf
    if not refusal and account_reason is not None:
        refusal = f"Your account is banned: {account_reason}"
        valid_until = _ts(account_until)
    leech_refusal = ""
    if download_reason is not None:
        valid_until = min(valid_until, _ts(download_until))
        until = f" until {download_until:%Y-%m-%d %H:%M} UTC" if download_until else ""
        leech_refusal = (f"Download forbidden: your download rights are suspended{until} "
                         f"({download_reason}). You may still seed.")
    elif not can_download:
        leech_refusal = (f"Download forbidden: members of {group_name} may not "
                         "download. You may still seed.")
    leech_refusal = leech_refusal or restriction
    return MemberRecord(
        id=user_id, refusal=refusal, leech_refusal=leech_refusal, max_peers=int(max_peers),
        tokens={t.torrent_id: t.expires_at for t in tokens},
        token_ids={t.torrent_id: t.id for t in tokens}, valid_until=valid_until)


def _token_from_row(row: tuple[Any, ...]) -> tuple[str, TokenAllowance]:
    user_id, token_id, torrent_id, expires_at, used, cap = row
    return user_id, TokenAllowance(id=token_id, torrent_id=torrent_id, used_bytes=int(used),
                                   max_bytes=-1 if cap is None else int(cap),
                                   expires_at=_ts(expires_at))


def torrent_from_row(row: tuple[Any, ...]) -> TorrentRecord:
    (torrent_id, v1, v2, status, deleted, size, is_freeleech, freeleech_until, neutral,
     double_upload, _snatches) = row
    refusal = ""
    if deleted:
        refusal = ("Unregistered torrent: it was deleted from the site. Remove it from your "
                   "client.")
    elif status == "pending":
        refusal = ("Torrent pending: staff have not approved it yet. Announce again once it "
                   "is approved.")
    elif status == "rejected":
        refusal = "Torrent rejected: staff rejected this upload, so it is not tracked."
    until = 0.0
    if is_freeleech:
        until = _ts(freeleech_until)
    hashes = [bytes(h).hex() for h in (v1, v2) if h]
    if v2:
        hashes.append(bytes(v2)[:20].hex())
    return TorrentRecord(id=torrent_id, refusal=refusal, size=int(size),
                         freeleech_until=until, neutral=bool(neutral),
                         double_upload=bool(double_upload), info_hashes=tuple(hashes))


def _torrent_hashes(row: tuple[Any, ...]) -> list[bytes]:
    v1, v2 = row[1], row[2]
    out = [bytes(v1)] if v1 else []
    if v2:
        out += [bytes(v2), bytes(v2)[:20]]
    return out


def ip_ban_from_row(ip: str, reason: str, expires_at: datetime | None) -> IpBanRecord:
    return IpBanRecord(
        reason=f"IP banned: your address {ip} is banned ({reason}). Contact staff.",
        valid_until=_ts(expires_at))


# --- Reading -------------------------------------------------------------------------------

def _cursor() -> Any:
    # Django's cursor (not the raw psycopg one): its per-query hook is what lets a test
    # count the queries a batch of misses costs.
    return connection.cursor()


def members_read(cur: Any, passkeys: list[str]
                 ) -> dict[str, tuple[MemberRecord, list[TokenAllowance]]]:
    cur.execute(_MEMBER_SQL + " AND u.passkey = ANY(%(passkeys)s)",
                {"download": PERM_DOWNLOAD, "passkeys": passkeys, "now": _now()})
    rows = cur.fetchall()
    tokens: dict[str, list[TokenAllowance]] = {}
    if rows:
        cur.execute(_ALLOWANCE_SQL + " AND t.user_id = ANY(%(ids)s::uuid[])",
                    {"ids": [r[0] for r in rows]})
        for token_row in cur.fetchall():
            user_id, token = _token_from_row(token_row)
            tokens.setdefault(user_id, []).append(token)
    restrictions = member_leech_restrictions(user_ids=[r[0] for r in rows])
    return {r[1]: (member_from_row(r, tokens.get(r[0], []), restrictions.get(r[0], "")),
                   tokens.get(r[0], []))
            for r in rows}


def member_leech_restrictions(*, user_ids: list[str]) -> dict[str, str]:
    """Why each of these members may not leech now because of hit-and-runs or ratio
    watch (members without a restriction are left out). Read by the tracker cache when
    it builds member records, one query for any number of members."""
    if not user_ids:
        return {}
    limit = int(settings.HNR_MAX_ACTIVE)
    out: dict[str, str] = {}
    with connection.cursor() as cur:
        cur.execute(
            """SELECT user_id::text, count(*) FROM torrent_history
               WHERE user_id = ANY(%s::uuid[]) AND hnr_at IS NOT NULL
                 AND hnr_cleared_at IS NULL
               GROUP BY user_id HAVING count(*) >= %s""",
            [user_ids, max(1, limit)])
        for uid, n in cur.fetchall():
            out[uid] = (f"Download forbidden: you have {n} hit-and-runs (the limit is "
                        f"{limit}). Seed those torrents to clear them; you may still seed.")
        cur.execute(
            """SELECT user_id::text, required_ratio FROM tracker_ratio_watch
               WHERE user_id = ANY(%s::uuid[]) AND ended_at IS NULL
                 AND leech_disabled_at IS NOT NULL""",
            [user_ids])
        for uid, required in cur.fetchall():
            out.setdefault(uid, (
                f"Download forbidden: your ratio is below the required {required} and your "
                f"ratio watch ran out. Seed to raise it; downloads return when it is back."))
    return out


def torrents_read(cur: Any, info_hashes: list[bytes]
                  ) -> tuple[dict[bytes, TorrentRecord], dict[str, int]]:
    """Records by every hash they answer to, and snatch counts by torrent id."""
    cur.execute(_TORRENT_SQL + _TORRENT_WHERE,
                {"h20": [h for h in info_hashes if len(h) == 20],
                 "h32": [h for h in info_hashes if len(h) == 32]})
    found: dict[bytes, TorrentRecord] = {}
    snatches: dict[str, int] = {}
    for row in cur.fetchall():
        record = torrent_from_row(row)
        snatches[record.id] = int(row[-1])
        for h in _torrent_hashes(row):
            found[h] = record
    return found, snatches


def ip_bans_read(cur: Any, ips: list[str]) -> dict[str, IpBanRecord]:
    cur.execute(_IP_BAN_SQL, {"ips": ips, "now": _now()})
    found = {ips[int(n) - 1]: ip_ban_from_row(ips[int(n) - 1], reason, until)
             for n, reason, until in cur.fetchall()}
    return {ip: found.get(ip, NOT_BANNED) for ip in ips}


def client_rules_read(cur: Any) -> dict[str, list[list[str]]]:
    cur.execute("SELECT kind, peer_id_prefix, name, reason FROM tracker_client_rules "
                "WHERE is_active ORDER BY kind, peer_id_prefix")
    allow: list[list[str]] = []
    deny: list[list[str]] = []
    for kind, prefix, name, reason in cur.fetchall():
        hexed = prefix.encode("latin-1", "replace").hex()
        if kind == "allow":
            allow.append([hexed, name])
        else:
            deny.append([hexed, name, reason])
    return {"allow": allow, "deny": deny}


def passkeys_of(user_id: object) -> list[str]:
    """The member's passkey as the database has it (invalidation drops its record)."""
    with _cursor() as cur:
        cur.execute("SELECT passkey FROM users WHERE id = %s", [str(user_id)])
        return [row[0] for row in cur.fetchall()]


def hashes_of(torrent_id: object) -> list[bytes]:
    """Every hash the torrent answers to, as the database has them."""
    with _cursor() as cur:
        cur.execute("SELECT id, info_hash_v1, info_hash_v2 FROM torrents WHERE id = %s",
                    [str(torrent_id)])
        return [h for row in cur.fetchall() for h in _torrent_hashes(row)]


# --- Writing to Redis ----------------------------------------------------------------------

def neg_budget_key(ip: str) -> str:
    """How many negative answers this address (IPv6: its /64) had stored in the current
    TRACKER_NEGATIVE_CACHE_SECONDS window."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        bucket = ip
    else:
        bucket = (str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
                  if addr.version == 6 and not addr.ipv4_mapped else ip)
    return f"{store.prefix()}:neg:{bucket}"


def record_ttl() -> int:
    return int(setting("TRACKER_CACHE_SECONDS"))


def _member_ttl(member: MemberRecord | None, ttl: int, now: float) -> int:
    if member is None or member.valid_until == math.inf:
        return ttl
    left = max(1, math.ceil(member.valid_until - now))
    return min(ttl, left) if ttl > 0 else left


def _ip_ban_ttl(ban: IpBanRecord, now: float) -> int:
    ttl = int(setting("TRACKER_IP_BAN_CACHE_SECONDS"))
    if ban.valid_until < math.inf:
        ttl = max(1, min(ttl, math.ceil(ban.valid_until - now)))
    return ttl


def _token_ttl(token: TokenAllowance, ttl: int, now: float) -> int:
    # The counter must outlive any record that names it; a day past the token's end
    # leaves the expiry job time to read it.
    until = 0 if token.expires_at == math.inf else math.ceil(token.expires_at - now) + 86400
    if ttl > 0:
        return max(ttl + math.ceil(setting("TRACKER_LOCAL_CACHE_SECONDS")) + 60, until)
    return max(until, 0)


def epoch_read(r: Any) -> str:
    raw = r.get(store.epoch_key())
    return raw.decode() if raw else ""


class _Writes:
    """One chunk's writes: records through the guarded script, counters beside it."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.args: list[Any] = []
        self.side: list[tuple[str, tuple[Any, ...]]] = []  # (command, args) after the store

    def record(self, key: str, value: bytes | str, ttl: int, budget_key: str = "") -> None:
        self.keys.append(key)
        self.args += [value, ttl, budget_key]

    def member(self, passkey: str, member: MemberRecord | None,
               tokens: list[TokenAllowance], ttl: int, now: float, ip: str = "") -> None:
        if member is None:
            self.record(store.passkey_key(passkey), b"null",
                        int(setting("TRACKER_NEGATIVE_CACHE_SECONDS")),
                        neg_budget_key(ip) if ip else "")
            return
        for tok in tokens:
            # Counters first (in the same script run): an announce that finds the record
            # finds them too.
            self.side.append(("EVAL", (ALLOWANCE_INIT_LUA, 1,
                                       store.token_key(tok.torrent_id, tok.id),
                                       tok.max_bytes, tok.used_bytes,
                                       _token_ttl(tok, ttl, now))))
        self.record(store.passkey_key(passkey), encode(member), _member_ttl(member, ttl, now))
        self.record(store.user_key(member.id), passkey, ttl)

    def torrent(self, info_hash: bytes, torrent: TorrentRecord | None, snatches: int,
                ttl: int, ip: str = "") -> None:
        if torrent is None:
            self.record(store.info_hash_key(info_hash), b"null",
                        int(setting("TRACKER_NEGATIVE_CACHE_SECONDS")),
                        neg_budget_key(ip) if ip else "")
            return
        self.record(store.info_hash_key(info_hash), encode(torrent), ttl)
        if snatches:
            # The swarm's snatch counter starts from the database's (HSETNX: never rewinds
            # it; a missing counter reads as 0, so only non-zero ones are written).
            self.side.append(("HSETNX", (store.torrent_stats_key(torrent.id), "snatches",
                                         snatches)))

    def send(self, r: Any, epoch: str) -> int:
        """-1 when an invalidation ran since `epoch` was read (nothing stored)."""
        if not self.keys:
            return 0
        pipe = r.pipeline(transaction=False)
        for command, args in self.side:
            if command == "EVAL":
                pipe.eval(*args)
            else:
                pipe.execute_command(command, *args)
        pipe.eval(STORE_LUA, 1 + len(self.keys), store.epoch_key(), *self.keys, epoch,
                  int(setting("TRACKER_NEGATIVE_CACHE_PER_IP")),
                  int(setting("TRACKER_NEGATIVE_CACHE_SECONDS")), *self.args)
        return int(pipe.execute()[-1])


# --- Misses --------------------------------------------------------------------------------

def fill(*, passkeys: Iterable[str] = (), info_hashes: Iterable[bytes] = (),
         ips: Iterable[str] = (), rules: bool = False,
         asked_by: dict[Any, str] | None = None) -> Filled:
    """Read the records of a batch of misses with one query per kind and store them.

    `asked_by` maps a passkey or info_hash to the address that asked for it: a negative
    answer is charged to that address's budget (unbudgeted without one)."""
    from django.db import close_old_connections

    if not connection.in_atomic_block:
        # This thread's connection may have outlived the database (a restart): recycle
        # it. (Never inside a transaction: that is a test's, and closing would end it.)
        close_old_connections()
    passkeys, info_hashes, ips = list(dict.fromkeys(passkeys)), list(
        dict.fromkeys(info_hashes)), list(dict.fromkeys(ips))
    asked_by = asked_by or {}
    r = store.client()
    out = Filled()
    epoch = epoch_read(r)
    now = time.time()
    ttl = record_ttl()
    writes = _Writes()
    with _cursor() as cur:
        if passkeys:
            found_members = members_read(cur, passkeys)
            out.queries += 4 if found_members else 1
            for pk in passkeys:
                member, tokens = found_members.get(pk, (None, []))
                out.members[pk] = member
                writes.member(pk, member, tokens, ttl, now, asked_by.get(pk, ""))
        if info_hashes:
            found_torrents, snatches = torrents_read(cur, info_hashes)
            out.queries += 1
            for h in info_hashes:
                torrent = found_torrents.get(h)
                out.torrents[h] = torrent
                writes.torrent(h, torrent, snatches.get(torrent.id, 0) if torrent else 0,
                               ttl, asked_by.get(h, ""))
        if ips:
            out.ip_bans = ip_bans_read(cur, ips)
            out.queries += 1
            for ip, ban in out.ip_bans.items():
                writes.record(store.ip_ban_key(ip), encode(ban) if ban.reason else b"",
                              _ip_ban_ttl(ban, now))
        if rules:
            out.rules = client_rules_read(cur)
            out.queries += 1
            writes.record(store.client_rules_key(), json.dumps(out.rules), ttl)
    for kind, n in (("member", len(out.members)), ("torrent", len(out.torrents)),
                    ("ip_ban", len(out.ip_bans)), ("client_rules", int(rules))):
        if n:
            CACHE_RECORDS_FILLED.labels(kind, "miss").inc(n)
    if writes.send(r, epoch) < 0:
        # An invalidation ran meanwhile: these answers serve the announces that asked,
        # and the next miss reads the database again.
        log.debug("tracker fill not stored: an invalidation ran while it read")
    return out


# --- At start ------------------------------------------------------------------------------

def warm_key() -> str:
    """Set when a bulk load finished into this Redis: a restart or FLUSHDB drops it, and
    the warm keeper loads again."""
    return f"{store.prefix()}:warm"


def warm_lock_key() -> str:
    return f"{store.prefix()}:warm:lock"


def _stream(sql: str, params: dict[str, Any], chunk: int) -> Iterator[list[tuple[Any, ...]]]:
    connection.ensure_connection()
    # A named (server-side) cursor: rows arrive `chunk` at a time, never all at once.
    with connection.connection.cursor(name=f"tracker_bulk_{time.monotonic_ns()}") as cur:
        cur.itersize = chunk
        cur.execute(sql, params)
        while True:
            rows = cur.fetchmany(chunk)
            if not rows:
                return
            yield rows


@dataclass(slots=True)
class BulkLoad:
    members: int = 0
    torrents: int = 0
    seconds: float = 0.0
    redone: int = 0  # chunks an invalidation made it read again through `fill`


def bulk_load(*, chunk: int = 5000) -> BulkLoad:
    """Store every member's and torrent's record in Redis (a few seconds for 50k members
    and 200k torrents). Runs outside any transaction (a server-side cursor needs one of
    its own, which it opens)."""
    from django.db import transaction

    started = time.perf_counter()
    r = store.client()
    ttl = record_ttl()
    result = BulkLoad()
    # A server-side cursor reads one snapshot, taken when it starts: the epoch read before
    # it guards every chunk. Once an invalidation has run, the rest is read again through
    # `fill` (fresh snapshot, its own epoch), chunk by chunk.
    with transaction.atomic():
        with _cursor() as cur:
            cur.execute(_ALLOWANCE_SQL)
            tokens: dict[str, list[TokenAllowance]] = {}
            for token_row in cur.fetchall():
                user_id, token = _token_from_row(token_row)
                tokens.setdefault(user_id, []).append(token)
        epoch, now = epoch_read(r), time.time()
        stale = False
        for rows in _stream(_MEMBER_SQL, {"download": PERM_DOWNLOAD, "now": _now()}, chunk):
            writes = _Writes()
            if not stale:
                restrictions = member_leech_restrictions(user_ids=[row[0] for row in rows])
                for row in rows:
                    mine = tokens.get(row[0], [])
                    writes.member(row[1], member_from_row(row, mine, restrictions.get(
                        row[0], "")), mine, ttl, now)
                stale = writes.send(r, epoch) < 0
            if stale:
                result.redone += 1
                fill(passkeys=[row[1] for row in rows])
            result.members += len(rows)
        epoch, stale = epoch_read(r), False
        for rows in _stream(_TORRENT_SQL, {}, chunk):
            writes = _Writes()
            if not stale:
                for row in rows:
                    record = torrent_from_row(row)
                    for h in _torrent_hashes(row):
                        writes.torrent(h, record, int(row[-1]), ttl)
                stale = writes.send(r, epoch) < 0
            if stale:
                result.redone += 1
                fill(info_hashes=[h for row in rows for h in _torrent_hashes(row)])
            result.torrents += len(rows)
    rules_epoch = epoch_read(r)
    with _cursor() as cur:
        writes = _Writes()
        writes.record(store.client_rules_key(), json.dumps(client_rules_read(cur)), ttl)
        writes.send(r, rules_epoch)
    result.seconds = time.perf_counter() - started
    CACHE_RECORDS_FILLED.labels("member", "bulk").inc(result.members)
    CACHE_RECORDS_FILLED.labels("torrent", "bulk").inc(result.torrents)
    r.set(warm_key(), json.dumps({"at": time.time(), "members": result.members,
                                  "torrents": result.torrents}))
    return result
