"""The live swarm in Redis: one Lua script per announce, a pipeline per scrape.

Per torrent T (keys in store.py): a hash per peer (last reported counters, last announce
time per info hash), sorted sets of seeders and leechers scored by last announce time (so
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

from dataclasses import dataclass

from django.conf import settings

from domain.events import torrent_group
from domain.tracker import store
from domain.tracker.cache import note_epoch

ANNOUNCE_LUA = r"""
local ident = ARGV[1]
local now = tonumber(ARGV[2])
local interval = tonumber(ARGV[3])
local event = ARGV[5]
local up = tonumber(ARGV[6])
local down = tonumber(ARGV[7])
local left = tonumber(ARGV[8])
local cutoff = now - 2 * interval
local ttl = math.floor(2 * interval + 60)

-- Stale peers leave this torrent's swarm at most once a minute (counts below skip them
-- by score anyway), which keeps the common announce short.
local reap_at = tonumber(redis.call('HGET', KEYS[7], 'reap') or '0')
if now >= reap_at then
  for _, zk in ipairs({KEYS[2], KEYS[3]}) do
    local stale = redis.call('ZRANGEBYSCORE', zk, '-inf', cutoff, 'LIMIT', 0, 500)
    if #stale > 0 then
      redis.call('ZREM', zk, unpack(stale))
      redis.call('HDEL', KEYS[4], unpack(stale))
    end
  end
  redis.call('HSET', KEYS[7], 'reap', now + 60)
end

local prev = redis.call('HMGET', KEYS[1], 'up', 'down', 'last', 'seed', 'l' .. ARGV[16])
local exists = prev[3] ~= false
local tag_last = tonumber(prev[5])
if exists and event == '' and tag_last and now - tag_last < tonumber(ARGV[4]) then
  return {'min', tostring(math.ceil(tonumber(ARGV[4]) - (now - tag_last)))}
end
if not exists and event ~= 'stopped' then
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', cutoff)
  local n = redis.call('ZCARD', KEYS[5])
  if n >= tonumber(ARGV[9]) then
    return {'peers', tostring(n)}
  end
end

local du, dd, ss, ls = 0, 0, 0, 0
local was_seed = prev[4] == '1'
if exists then
  -- A counter lower than last time is a client restart: credited nothing, new baseline.
  du = up - tonumber(prev[1]); if du < 0 then du = 0 end
  dd = down - tonumber(prev[2]); if dd < 0 then dd = 0 end
  local elapsed = now - tonumber(prev[3])
  if elapsed < 0 then elapsed = 0 end
  if was_seed then ss = elapsed else ls = elapsed end
end
local seeder = left == 0
local snatch = 0
if event == 'completed' and redis.call('SADD', KEYS[6], ARGV[15]) == 1 then
  redis.call('HINCRBY', KEYS[7], 'snatches', 1)
  snatch = 1
end

if event == 'stopped' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ident)
  redis.call('ZREM', KEYS[3], ident)
  redis.call('HDEL', KEYS[4], ident)
  redis.call('ZREM', KEYS[5], ident)
else
  redis.call('HSET', KEYS[1], 'up', ARGV[6], 'down', ARGV[7], 'last', ARGV[2],
             'seed', seeder and '1' or '0', 'l' .. ARGV[16], ARGV[2])
  redis.call('EXPIRE', KEYS[1], ttl)
  if seeder then
    redis.call('ZADD', KEYS[2], now, ident)
    redis.call('ZREM', KEYS[3], ident)
  else
    redis.call('ZADD', KEYS[3], now, ident)
    redis.call('ZREM', KEYS[2], ident)
  end
  redis.call('HSET', KEYS[4], ident, ARGV[12])
  redis.call('ZADD', KEYS[5], now, ident)
  redis.call('EXPIRE', KEYS[5], ttl)
  redis.call('SADD', KEYS[10], ARGV[18])
end

local complete = redis.call('ZCOUNT', KEYS[2], '(' .. cutoff, '+inf')
local incomplete = redis.call('ZCOUNT', KEYS[3], '(' .. cutoff, '+inf')
local snatches = tonumber(redis.call('HGET', KEYS[7], 'snatches') or '0')

local publish = 0
if ((not exists) or event ~= '' or seeder ~= was_seed)
    and redis.call('EXISTS', KEYS[11]) == 1 then
  if redis.call('SET', KEYS[9], '1', 'NX', 'PX', ARGV[17]) then publish = 1 end
end

local cu = math.floor(du * tonumber(ARGV[10]))
local cd = math.floor(dd * tonumber(ARGV[11]))
redis.call('RPUSH', KEYS[8], ARGV[14] .. string.format(
  '"ev":"%s","up":%d,"down":%d,"left":%d,"du":%d,"dd":%d,"cu":%d,"cd":%d,"sd":%d,"sn":%d,' ..
  '"ss":%d,"ls":%d,"ts":%.3f,"seeders":%d,"leechers":%d}',
  event, up, down, left, du, dd, cu, cd, seeder and 1 or 0, snatch, ss, ls, now,
  complete, incomplete))

local out = {'ok', complete, incomplete, snatches, publish,
             redis.call('GET', KEYS[12]) or '0'}
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
    peers: tuple[bytes, ...] = ()


_scripts: dict[int, object] = {}


def _announce_script() -> object:
    r = store.client()
    found = _scripts.get(id(r))
    if found is None:
        found = r.register_script(ANNOUNCE_LUA)
        _scripts[id(r)] = found
    return found


def swarm_announce(*, torrent_id: str, user_id: str, ident: str, now: float, event: str,
                   uploaded: int, downloaded: int, left: int, max_peers: int,
                   up_factor: float, down_factor: float, address: bytes, numwant: int,
                   entry_prefix: str, hash_tag: str) -> SwarmAnswer:
    interval = int(settings.TRACKER_ANNOUNCE_INTERVAL)
    keys = [store.peer_key(torrent_id, ident), store.seeders_key(torrent_id),
            store.leechers_key(torrent_id), store.addrs_key(torrent_id),
            store.user_peers_key(torrent_id, user_id), store.snatched_key(torrent_id),
            store.torrent_stats_key(torrent_id), store.buffer_key(),
            store.publish_key(torrent_id), store.active_key(),
            store.channel_group_key(torrent_group(torrent_id)), store.epoch_key()]
    args = [ident, f"{now:.3f}", interval, int(settings.TRACKER_MIN_INTERVAL), event,
            uploaded, downloaded, left, max_peers, up_factor, down_factor, address, numwant,
            entry_prefix, user_id, hash_tag, int(settings.TRACKER_PEER_COUNTS_THROTTLE_MS),
            torrent_id]
    out = _announce_script()(keys=keys, args=args)  # type: ignore[operator]
    code = out[0]
    if code != b"ok":
        return SwarmAnswer(refusal=code.decode(), refusal_value=int(out[1]))
    note_epoch(out[5])
    return SwarmAnswer(complete=int(out[1]), incomplete=int(out[2]), downloaded=int(out[3]),
                       publish=bool(out[4]), peers=tuple(out[6:]))


def swarm_counts(torrent_ids: list[str], *, now: float) -> list[tuple[int, int, int]]:
    """(seeders, leechers, snatches) of each torrent, counting only peers that announced
    within two intervals (correct even before the reaper has run)."""
    cutoff = now - 2 * int(settings.TRACKER_ANNOUNCE_INTERVAL)
    pipe = store.client().pipeline(transaction=False)
    for tid in torrent_ids:
        pipe.zcount(store.seeders_key(tid), f"({cutoff}", "+inf")
        pipe.zcount(store.leechers_key(tid), f"({cutoff}", "+inf")
        pipe.hget(store.torrent_stats_key(tid), "snatches")
    pipe.get(store.epoch_key())
    raw = pipe.execute()
    note_epoch(raw.pop())
    return [(int(raw[i]), int(raw[i + 1]), int(raw[i + 2] or 0))
            for i in range(0, len(raw), 3)]


def swarm_reap(*, now: float) -> tuple[int, list[str]]:
    """Drop peers that have not announced within two intervals from every swarm. Returns
    how many were dropped and the torrents still active."""
    r = store.client()
    cutoff = now - 2 * int(settings.TRACKER_ANNOUNCE_INTERVAL)
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
                pipe.execute()
                dropped += len(stale)
        if r.zcard(store.seeders_key(tid)) + r.zcard(store.leechers_key(tid)) == 0:
            r.srem(store.active_key(), tid)
        else:
            active.append(tid)
    return dropped, active
