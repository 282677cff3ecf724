"""The live swarm in Redis: one Lua script per announce, a pipeline per scrape.

Per torrent T (keys in store.py): a hash of peer states (last reported counters, last
announce time per info hash), sorted sets of seeders and leechers scored by last announce time (so
"stale" is a score range, reaped on every announce and by the hourly task), a hash of each
peer's compact address + peer_id (what replies are built from), a sorted set of each
member's peers (the simultaneous-peers limit), the set of members who snatched it and its
snatch counter. A peer's identity is member + peer_id + key: the same client announcing a
hybrid torrent under its v1 and its truncated v2 hash resolves to the same torrent id and
so to the same peer, credited once.

The script does the whole announce atomically (no two announces of one peer can interleave
their deltas) and appends the accounting entry to the buffer list the flush drains; a reply
goes out only after that entry is in Redis, so what a client was told is never lost by a
crash of the web process.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.core.signals import setting_changed

from domain.events import torrent_group
from domain.tracker import store
from domain.tracker.cache import note_epoch
from domain.tracker.conf import setting

ANNOUNCE_LUA = r"""
-- KEYS: 1 peer state hash, 2 seeders, 3 leechers, 4 addresses, 5 member's peers,
-- 6 snatchers, 7 torrent stats, 8 buffer, 9 publish throttle, 10 active torrents,
-- 11 the torrent's channel group, 12 invalidation epoch, 13 trailing publish mark,
-- 14 (only when the download is free through the member's token) the token's allowance.
local ident = ARGV[1]
local now = tonumber(ARGV[2])
local interval = tonumber(ARGV[3])
local event = ARGV[5]
local up = tonumber(ARGV[6])
local down = tonumber(ARGV[7])
local left = tonumber(ARGV[8])
local cutoff = now - 2 * interval

local ts = redis.call('HMGET', KEYS[7], 'reap', 'snatches')
-- Stale peers leave this torrent's swarm at most once a minute (the counts below skip
-- them by score anyway), which keeps the common announce short.
if now >= (tonumber(ts[1]) or 0) then
  for _, zk in ipairs({KEYS[2], KEYS[3]}) do
    local stale = redis.call('ZRANGEBYSCORE', zk, '-inf', cutoff, 'LIMIT', 0, 500)
    if #stale > 0 then
      redis.call('ZREM', zk, unpack(stale))
      redis.call('HDEL', KEYS[4], unpack(stale))
      redis.call('HDEL', KEYS[1], unpack(stale))
    end
  end
  redis.call('HSET', KEYS[7], 'reap', now + 60)
end

-- A peer's state: "uploaded,downloaded,last,seeder,last under v1 hash,last under v2 hash,
-- hashes it sent `completed` under ("1", "2", "12"), when its IPv4 address was last given,
-- when its IPv6 address was" (states written before the later fields existed lack them).
local prev_up, prev_down, last, prev_seed, l1, l2, done, t4, t6
local st = redis.call('HGET', KEYS[1], ident)
if st then
  prev_up, prev_down, last, prev_seed, l1, l2, done, t4, t6 = string.match(st,
    '^([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),?([^,]*),?([^,]*),?([^,]*)$')
  if tonumber(last) < cutoff then st = false end
end
local exists = st ~= false
local tag_last = nil
if exists then
  if ARGV[16] == '1' then tag_last = tonumber(l1) else tag_last = tonumber(l2) end
end
-- The minimum interval holds for events too: within it a peer may only send what a real
-- client sends once (its first `completed` under each hash, and `stopped`, which ends the
-- peer and so its baseline). A repeated `started` or `completed` is refused like a
-- regular announce.
-- (A minimum of 0 refuses nothing: with two processes, an announce stamped a millisecond
-- before the peer's previous one can run after it.)
local first_done = event == 'completed' and not string.find(done or '', ARGV[16], 1, true)
if exists and tag_last and tonumber(ARGV[4]) > 0 and now - tag_last < tonumber(ARGV[4])
    and event ~= 'stopped' and not first_done then
  return {'min', tostring(math.ceil(tonumber(ARGV[4]) - (now - tag_last)))}
end
if not exists and event ~= 'stopped' then
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', cutoff)
  local n = redis.call('ZCARD', KEYS[5])
  if n >= tonumber(ARGV[9]) then
    return {'peers', tostring(n)}
  end
end

local du, dd, ss, ls, xu, xd = 0, 0, 0, 0, 0, 0
local was_seed = prev_seed == '1'
if exists then
  -- A counter lower than last time is a client restart: credited nothing, new baseline.
  du = up - tonumber(prev_up); if du < 0 then du = 0 end
  dd = down - tonumber(prev_down); if dd < 0 then dd = 0 end
  local elapsed = now - tonumber(last)
  if elapsed < 0 then elapsed = 0 end
  if was_seed then ss = elapsed else ls = elapsed end
  -- Only what a link could carry since the last announce is credited (and a download of
  -- at most a few times the torrent's size); the rest is refused, reported in the entry
  -- ("xu", "xd"), and never credited later: the claimed counter is the next baseline.
  local cap = math.floor(elapsed * tonumber(ARGV[19]))
  if du > cap then xu = du - cap; du = cap end
  cap = tonumber(ARGV[20])
  if elapsed * tonumber(ARGV[19]) < cap then cap = math.floor(elapsed * tonumber(ARGV[19])) end
  if dd > cap then xd = dd - cap; dd = cap end
end
local seeder = left == 0
-- A download that finished without `completed` (aria2 with --seed-time=0 goes from
-- `started` straight to `stopped`; some clients skip it when stopping): a peer last seen
-- leeching that now reports nothing left and bytes downloaded completed it all the same.
local finished = event == 'completed' or (exists and not was_seed and seeder and down > 0)
local snatches = tonumber(ts[2]) or 0
local snatch = 0
if finished and redis.call('SADD', KEYS[6], ARGV[15]) == 1 then
  snatches = redis.call('HINCRBY', KEYS[7], 'snatches', 1)
  snatch = 1
end

if event == 'stopped' then
  if exists then
    redis.call('HDEL', KEYS[1], ident)
    redis.call('ZREM', KEYS[2], ident)
    redis.call('ZREM', KEYS[3], ident)
    redis.call('HDEL', KEYS[4], ident)
    redis.call('ZREM', KEYS[5], ident)
  end
else
  if ARGV[16] == '1' then l1 = ARGV[2] else l2 = ARGV[2] end
  if first_done then done = (done or '') .. ARGV[16] end
  -- The address blob: 26 bytes (IPv4), 38 (IPv6) or 64 (both, IPv4 first). A dual-stack
  -- client announces over each family in turn (BEP 7), often naming only the one it
  -- announces over: its other address stays while it was given within two intervals.
  local addr = ARGV[12]
  local n = string.len(addr)
  if n == 64 then
    t4, t6 = ARGV[2], ARGV[2]
  else
    local keep = t6
    if n == 26 then t4 = ARGV[2] else t6 = ARGV[2]; keep = t4 end
    if exists and (tonumber(keep) or 0) > cutoff then
      local old = redis.call('HGET', KEYS[4], ident)
      if old and n == 26 and string.len(old) >= 38 then
        addr = addr .. string.sub(old, -38)
      elseif old and n == 38 and string.len(old) ~= 38 then
        addr = string.sub(old, 1, 26) .. addr
      end
    elseif n == 26 then t6 = '' else t4 = '' end
  end
  redis.call('HSET', KEYS[1], ident, string.format('%d,%d,%s,%s,%s,%s,%s,%s,%s', up, down,
             ARGV[2], seeder and '1' or '0', l1 or '', l2 or '', done or '', t4 or '',
             t6 or ''))
  local here, other = KEYS[3], KEYS[2]
  if seeder then here, other = KEYS[2], KEYS[3] end
  if redis.call('ZADD', here, now, ident) == 1 then
    -- New in this set: a new peer or one that changed sides.
    redis.call('ZREM', other, ident)
    redis.call('SADD', KEYS[10], ARGV[18])
  end
  redis.call('HSET', KEYS[4], ident, addr)
  if redis.call('ZADD', KEYS[5], now, ident) == 1 then
    redis.call('EXPIRE', KEYS[5], math.floor(2 * interval + 60))
  end
end

local complete = redis.call('ZCOUNT', KEYS[2], '(' .. cutoff, '+inf')
local incomplete = redis.call('ZCOUNT', KEYS[3], '(' .. cutoff, '+inf')

local publish, trail = 0, ''
if ((not exists) or event ~= '' or seeder ~= was_seed)
    and (ARGV[21] == '1' or redis.call('EXISTS', KEYS[11]) == 1) then
  -- The throttle key holds its window's id (the time it began).
  if redis.call('SET', KEYS[9], ARGV[2], 'NX', 'PX', ARGV[17]) then
    publish = 1
  else
    -- Throttled: the first change of the window has its process send the counts current
    -- at the window's end ("ms left:window id"); the mark ends with the window.
    local wait = redis.call('PTTL', KEYS[9])
    if wait > 0 and redis.call('SET', KEYS[13], '1', 'NX', 'PX', wait) then
      trail = wait .. ':' .. redis.call('GET', KEYS[9])
    end
  end
end

-- A freeleech token frees only what is left of its allowance; the rest is charged. Here,
-- atomically, so concurrent announces from any process never free more than the cap.
local tf = 0
if KEYS[14] and dd > 0 then
  local tok = redis.call('HMGET', KEYS[14], 'max', 'used')
  if tok[1] then  -- (a counter Redis lost frees nothing until the record is filled again)
    tf = dd
    local cap = tonumber(tok[1])
    if cap >= 0 then
      local room = cap - (tonumber(tok[2]) or 0)
      if room < tf then tf = room end
      if tf < 0 then tf = 0 end
    end
    if tf > 0 then redis.call('HINCRBY', KEYS[14], 'used', string.format('%d', tf)) end
  end
end

local cu = math.floor(du * tonumber(ARGV[10]))
local cd = math.floor((dd - tf) * tonumber(ARGV[11]))
redis.call('RPUSH', KEYS[8], ARGV[14] .. string.format(
  '"ev":"%s","up":%d,"down":%d,"left":%d,"du":%d,"dd":%d,"cu":%d,"cd":%d,"tf":%d,"sd":%d,' ..
  '"sn":%d,"ss":%d,"ls":%d,"ts":%.3f,"seeders":%d,"leechers":%d,"xu":%d,"xd":%d,"cp":%d}',
  event, up, down, left, du, dd, cu, cd, tf, seeder and 1 or 0, snatch, ss, ls, now,
  complete, incomplete, xu, xd, finished and 1 or 0))

local out = {'ok', complete, incomplete, snatches, publish,
             redis.call('GET', KEYS[12]) or '0', trail}
local numwant = tonumber(ARGV[13])
if event ~= 'stopped' and numwant > 0 then
  local picked = {}
  local sources = {KEYS[3]}
  if not seeder then sources = {KEYS[2], KEYS[3]} end
  for _, zk in ipairs(sources) do
    if #picked >= numwant then break end
    local got = redis.call('ZRANDMEMBER', zk, numwant + 1)
    for _, m in ipairs(got) do
      if m ~= ident and #picked < numwant then picked[#picked + 1] = m end
    end
  end
  if #picked > 0 then
    local blobs = redis.call('HMGET', KEYS[4], unpack(picked))
    for _, b in ipairs(blobs) do
      if b then out[#out + 1] = b end
    end
  end
end
return out
"""


TRAIL_LUA = r"""
-- The trailing publish of a throttled change, run when its window ends. KEYS: 1 publish
-- throttle, 2 seeders, 3 leechers, 4 torrent stats, 5 the torrent's channel group.
-- ARGV: 1 the window's id, 2 now, 3 announce interval, 4 throttle ms.
local current = redis.call('GET', KEYS[1])
-- Someone published after the window ended: their counts are at least as fresh.
if current and current ~= ARGV[1] then return false end
if redis.call('EXISTS', KEYS[5]) == 0 then return false end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
local cutoff = '(' .. (tonumber(ARGV[2]) - 2 * tonumber(ARGV[3]))
return {redis.call('ZCOUNT', KEYS[2], cutoff, '+inf'),
        redis.call('ZCOUNT', KEYS[3], cutoff, '+inf'),
        redis.call('HGET', KEYS[4], 'snatches') or '0'}
"""
TRAIL_SHA = hashlib.sha1(TRAIL_LUA.encode()).hexdigest()  # noqa: S324 (Redis's id)


@dataclass(frozen=True, slots=True)
class SwarmAnswer:
    """What the script answered: counts, whether to publish them, peers to hand out
    (compact address + 20-byte peer_id each), or a refusal code."""

    refusal: str = ""  # "min" (too soon) or "peers" (too many peers), else ""
    refusal_value: int = 0
    complete: int = 0
    incomplete: int = 0
    downloaded: int = 0
    publish: bool = False
    # A throttled change: publish the counts in this many ms (the window's end), once.
    trail_ms: int = 0
    trail_window: str = ""
    peers: tuple[bytes, ...] = ()


# What a bigint column holds: the flush's sums saturate here rather than overflow.
MAX_COUNTER = 2**63 - 1

ANNOUNCE_SHA = hashlib.sha1(ANNOUNCE_LUA.encode()).hexdigest()  # noqa: S324 (Redis's id)
_scripts: dict[int, object] = {}


def _announce_script() -> object:
    r = store.client()
    found = _scripts.get(id(r))
    if found is None:
        found = r.register_script(ANNOUNCE_LUA)
        _scripts[id(r)] = found
    return found


_keys: dict[tuple[str, str], tuple[str, ...]] = {}


def _torrent_keys(torrent_id: str) -> tuple[str, ...]:
    """The script's keys but the member's, kept per torrent: building twelve key names
    costs more than the rest of the call's arguments together."""
    cache_key = (store.prefix(), torrent_id)
    found = _keys.get(cache_key)
    if found is None:
        if len(_keys) > 100_000:
            _keys.clear()
        found = _keys[cache_key] = (
            store.peers_state_key(torrent_id), store.seeders_key(torrent_id),
            store.leechers_key(torrent_id), store.addrs_key(torrent_id),
            store.snatched_key(torrent_id), store.torrent_stats_key(torrent_id),
            store.buffer_key(), store.publish_key(torrent_id), store.active_key(),
            store.channel_group_key(torrent_group(torrent_id)), store.epoch_key(),
            store.publish_dirty_key(torrent_id))
    return found


_elsewhere: list[str] = []


def _watchers_elsewhere() -> str:
    if not _elsewhere:
        _elsewhere.append("1" if store.watchers_elsewhere() else "0")
    return _elsewhere[0]


def _forget_keys(**_: Any) -> None:
    _keys.clear()
    _elsewhere.clear()


setting_changed.connect(_forget_keys, dispatch_uid="tracker_swarm_forget_keys")


def swarm_command(*, torrent_id: str, user_id: str, ident: str, now: float, event: str,
                  uploaded: int, downloaded: int, left: int, max_peers: int,
                  up_factor: float, down_factor: float, address: bytes, numwant: int,
                  entry_prefix: str, hash_tag: str, token_id: str = "", size: int = 0
                  ) -> tuple[list[str], list[Any]]:
    """The announce script's keys and arguments. `token_id`: the member's freeleech token
    that frees this download (within its allowance); `size`: the torrent's (0: unknown,
    the download is then capped by the rate alone)."""
    tk = _torrent_keys(torrent_id)
    keys = [tk[0], tk[1], tk[2], tk[3], store.user_peers_key(torrent_id, user_id), *tk[4:]]
    if token_id:
        keys.append(store.token_key(torrent_id, token_id))
    args = [ident, f"{now:.3f}", int(setting("TRACKER_ANNOUNCE_INTERVAL")),
            int(setting("TRACKER_MIN_INTERVAL")), event, uploaded, downloaded, left,
            max_peers, up_factor, down_factor, address, numwant, entry_prefix, user_id,
            hash_tag, int(setting("TRACKER_PEER_COUNTS_THROTTLE_MS")), torrent_id,
            int(setting("TRACKER_MAX_RATE")),
            int(size * setting("TRACKER_MAX_DOWNLOAD_FACTOR")) if size > 0 else MAX_COUNTER,
            _watchers_elsewhere()]
    return keys, args


def swarm_answer(out: list[Any]) -> SwarmAnswer:
    code = out[0]
    if code != b"ok":
        return SwarmAnswer(refusal=code.decode(), refusal_value=int(out[1]))
    note_epoch(out[5])
    if out[6]:
        wait, window = out[6].decode().split(":", 1)
        return SwarmAnswer(complete=int(out[1]), incomplete=int(out[2]),
                           downloaded=int(out[3]), trail_ms=int(wait), trail_window=window,
                           peers=tuple(out[7:]))
    return SwarmAnswer(complete=int(out[1]), incomplete=int(out[2]), downloaded=int(out[3]),
                       publish=bool(out[4]), peers=tuple(out[7:]))


def swarm_announce(**command: Any) -> SwarmAnswer:
    keys, args = swarm_command(**command)
    return swarm_answer(_announce_script()(keys=keys, args=args))  # type: ignore[operator]


async def swarm_announce_async(**command: Any) -> SwarmAnswer:
    from domain.tracker.pipe import pipe

    keys, args = swarm_command(**command)
    return swarm_answer(await pipe().evalsha(ANNOUNCE_SHA, ANNOUNCE_LUA, keys, args))


async def swarm_trailing_counts_async(torrent_id: str, *, window: str, now: float
                                      ) -> tuple[int, int, int] | None:
    """(seeders, leechers, snatches) to publish at the end of throttle window `window`,
    starting the next window; None when someone published since or nobody watches."""
    from domain.tracker.pipe import pipe

    tk = _torrent_keys(torrent_id)
    out = await pipe().evalsha(
        TRAIL_SHA, TRAIL_LUA, [tk[7], tk[1], tk[2], tk[5], tk[9]],
        [window, f"{now:.3f}", int(setting("TRACKER_ANNOUNCE_INTERVAL")),
         int(setting("TRACKER_PEER_COUNTS_THROTTLE_MS"))])
    if not out:
        return None
    return int(out[0]), int(out[1]), int(out[2])


def _counts_commands(torrent_ids: list[str], now: float) -> list[tuple[Any, ...]]:
    cutoff = f"({now - 2 * int(setting('TRACKER_ANNOUNCE_INTERVAL'))}"
    cmds: list[tuple[Any, ...]] = []
    for tid in torrent_ids:
        cmds.append(("ZCOUNT", store.seeders_key(tid), cutoff, "+inf"))
        cmds.append(("ZCOUNT", store.leechers_key(tid), cutoff, "+inf"))
        cmds.append(("HGET", store.torrent_stats_key(tid), "snatches"))
    cmds.append(("GET", store.epoch_key()))
    return cmds


def _counts(raw: list[Any]) -> list[tuple[int, int, int]]:
    note_epoch(raw.pop())
    return [(int(raw[i]), int(raw[i + 1]), int(raw[i + 2] or 0))
            for i in range(0, len(raw), 3)]


def swarm_counts(torrent_ids: list[str], *, now: float) -> list[tuple[int, int, int]]:
    """(seeders, leechers, snatches) of each torrent, counting only peers that announced
    within two intervals (correct even before the reaper has run)."""
    pipe = store.client().pipeline(transaction=False)
    for cmd in _counts_commands(torrent_ids, now):
        pipe.execute_command(*cmd)
    return _counts(pipe.execute())


async def swarm_counts_async(torrent_ids: list[str], *, now: float
                             ) -> list[tuple[int, int, int]]:
    from domain.tracker.pipe import pipe

    return _counts(await pipe().call_many(_counts_commands(torrent_ids, now)))


def swarm_reap(*, now: float) -> tuple[int, list[str]]:
    """Drop peers that have not announced within two intervals from every swarm. Returns
    how many were dropped and the torrents still active."""
    r = store.client()
    cutoff = now - 2 * int(setting("TRACKER_ANNOUNCE_INTERVAL"))
    dropped = 0
    active: list[str] = []
    for raw in r.sscan_iter(store.active_key(), count=500):
        tid = raw.decode()
        for zk in (store.seeders_key(tid), store.leechers_key(tid)):
            stale = r.zrangebyscore(zk, "-inf", cutoff)
            if stale:
                pipe = r.pipeline(transaction=True)
                pipe.zrem(zk, *stale)
                pipe.hdel(store.addrs_key(tid), *stale)
                pipe.hdel(store.peers_state_key(tid), *stale)
                pipe.execute()
                dropped += len(stale)
        if r.zcard(store.seeders_key(tid)) + r.zcard(store.leechers_key(tid)) == 0:
            r.srem(store.active_key(), tid)
        else:
            active.append(tid)
    return dropped, active
