"""Who is in a chat room right now, across every server process, surviving a process that
dies without disconnecting its sockets; announced coalesced, so a join storm of 1,000
sockets costs a handful of presence frames rather than one per join.

Redis holds, per room, a hash member name -> the ids of the processes that have a socket
of that member in the room ("<id>,<id>"); and per process a liveness key that expires
PRESENCE_STALE_PERIODS heartbeats after it was last renewed. An entry of a process whose
key has expired counts for nobody: the scripts leave it out of the member list and delete
it, so a crashed process's members drop out within a few heartbeats (about a minute by
default) while a member who still has a socket on a live process stays.

Batched per process. A process keeps in memory how many sockets each member has in each
room (the truth about its sockets) and which members changed since Redis last heard. Joins
and leaves only mark a member changed and wait for the next round: one task per process
sends each changed room's current state in one script per room, every room of the round
in one pipeline, then wakes every socket that waited on it. A storm of 1,000 subscribes
becomes a few dozen scripts, not 1,000 serialised ones. The heartbeat re-asserts the whole
local state ("exact") through the same round lock, so it can never overtake a change.

Coalesced across processes. A script that changes whether a member is present (their first
socket on any process arrived, their last one went, their process died) adds the member to
the room's "touched" set, and whoever finds no flush pending claims the room's flush lock.
The owner waits LIVE_PRESENCE_COALESCE_SECONDS, then one script takes the touched set and
reads each touched member's state as it is now: one frame {"room", "joined": [...],
"left": [...]} goes to the room's stream, and the owner keeps the lock for as long as each
interval finds more. So a room gets at most one presence frame per interval from all
processes together, and the last frame after any change states every changed member's
final state: a page that applies the subscribe reply's list and then the frames (as a set)
ends right even when a frame raced its reply. An owner that dies lets its lock expire; the
next change, or any process's heartbeat, claims it again.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
import weakref
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings

from domain.events import ChatPresence, publish_now

log = logging.getLogger(__name__)

# A room nobody joins for a day is forgotten even if no live process cleans it up.
PRESENCE_TTL_SECONDS = 86400
# A process whose liveness key is this many heartbeats old is taken for dead.
PRESENCE_STALE_PERIODS = 3
# Presence commands are short: a bounded wait keeps a stalled Redis from hanging the
# socket, unlike the channel layer's blocking receive which must never time out.
COMMAND_TIMEOUT_SECONDS = 5

# KEYS: the room's hash, its touched set, its flush lock. ARGV: process key prefix, this
# process's id, its liveness time to live (ms), the room key's time to live (s), the flush
# lock's time to live (ms), a mode, whether to list members ("1"), the count of names
# present here, those names, then the names absent here:
#   sync    this process has a socket of each present name and none of each absent one
#   exact   as sync, and no socket of anyone else (the heartbeat)
#   read    nothing changes for this process
# Listing walks the whole room, dropping entries of dead processes (a leave-only round
# does not list, so a leave storm stays cheap). Returns {members (when listed), 1 when
# this call claimed the room's flush}.
_SYNC_SCRIPT = """
local key, touched, lock = KEYS[1], KEYS[2], KEYS[3]
local prefix, me = ARGV[1], ARGV[2]
local ttl_ms, key_ttl, lock_ms = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local mode, list = ARGV[6], ARGV[7] == '1'
local npresent = tonumber(ARGV[8])
local alive = {}
local function live(p)
  local v = alive[p]
  if v == nil then
    v = redis.call('EXISTS', prefix .. p) == 1
    alive[p] = v
  end
  return v
end
live(me)  -- as the readers saw this process until now
redis.call('SET', prefix .. me, '1', 'PX', ttl_ms)
local want = {}
for i = 9, 8 + npresent do want[ARGV[i]] = true end
for i = 9 + npresent, #ARGV do want[ARGV[i]] = false end
local members, changed = {}, false
local function settle(user, procs)
  local before, mine, keep = false, false, {}
  if procs then
    for p in string.gmatch(procs, '[^,]+') do
      if live(p) then before = true end
      if p == me then mine = true elseif live(p) then keep[#keep + 1] = p end
    end
  end
  local w = want[user]
  if w ~= nil then mine = w elseif mode == 'exact' then mine = false end
  if mine then keep[#keep + 1] = me end
  -- Touched: became present, or their entry goes (even one that only a dead process
  -- held: whoever read the list before that process died saw them).
  local touch = false
  if #keep == 0 then
    if procs then
      redis.call('HDEL', key, user)
      touch = true
    end
  else
    members[#members + 1] = user
    local value = table.concat(keep, ',')
    if value ~= procs then redis.call('HSET', key, user, value) end
    touch = not before
  end
  if touch then
    redis.call('SADD', touched, user)
    changed = true
  end
end
local seen = {}
if list or mode == 'exact' then
  local flat = redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    seen[flat[i]] = true
    settle(flat[i], flat[i + 1])
  end
end
for i = 9, #ARGV do
  if not seen[ARGV[i]] then
    seen[ARGV[i]] = true
    settle(ARGV[i], redis.call('HGET', key, ARGV[i]))
  end
end
if redis.call('EXISTS', key) == 1 then redis.call('EXPIRE', key, key_ttl) end
local claimed = 0
if changed or redis.call('EXISTS', touched) == 1 then
  redis.call('EXPIRE', touched, key_ttl)
  if redis.call('SET', lock, me, 'NX', 'PX', lock_ms) then claimed = 1 end
end
if not list then members = {} end
return {members, claimed}
"""

# KEYS: the room's hash, touched set and flush lock. ARGV: process key prefix, this
# process's id, the lock's time to live (ms). Takes the touched members and says, for each,
# whether they are present now (an entry with a live process; a dead one's is deleted).
# Returns {joined, left, 1 to keep the lock for another interval}; with nothing touched
# the lock is released, and a lock that is no longer this process's is left alone.
_FLUSH_SCRIPT = """
local key, touched, lock = KEYS[1], KEYS[2], KEYS[3]
local prefix, me, lock_ms = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('GET', lock) ~= me then return {{}, {}, 0} end
local users = redis.call('SMEMBERS', touched)
if #users == 0 then
  redis.call('DEL', lock)
  return {{}, {}, 0}
end
redis.call('DEL', touched)
local alive = {}
local function live(p)
  local v = alive[p]
  if v == nil then
    v = redis.call('EXISTS', prefix .. p) == 1
    alive[p] = v
  end
  return v
end
local joined, left = {}, {}
for _, user in ipairs(users) do
  local procs = redis.call('HGET', key, user)
  local here = false
  if procs then
    for p in string.gmatch(procs, '[^,]+') do
      if live(p) then here = true end
    end
    if not here then redis.call('HDEL', key, user) end
  end
  if here then joined[#joined + 1] = user else left[#left + 1] = user end
end
redis.call('PEXPIRE', lock, lock_ms)
return {joined, left, 1}
"""


class _Process:
    """This event loop's part in presence: its id, its sockets per room and member, what
    Redis has not heard yet, and the tasks that tell it."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.rooms: dict[str, dict[str, int]] = {}  # room -> member -> local sockets
        # room -> members whose local presence changed since Redis last heard of it.
        self.dirty: dict[str, set[str]] = {}
        # room -> sockets waiting for the next round (a join wants the member list).
        self.waiters: dict[str, list[asyncio.Future[list[str]]]] = {}
        self.listing: set[str] = set()  # rooms whose next round must list members
        # Rooms whose last round failed: the heartbeat re-asserts them even with no
        # socket left there.
        self.unsynced: set[str] = set()
        # One round (or heartbeat) at a time: a heartbeat's "exact" state can never
        # overtake a round that changed it.
        self.lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.batcher: asyncio.Task[None] | None = None
        self.heartbeat: asyncio.Task[None] | None = None
        self.flushers: dict[str, asyncio.Task[None]] = {}
        self.rounds = 0  # scripts sent for joins and leaves (batching is visible in tests)


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary())
_processes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Process] = (
    weakref.WeakKeyDictionary())


def _client() -> aioredis.Redis:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        # Blocking: a connect burst past the cap waits for a free connection (settings).
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL, socket_timeout=COMMAND_TIMEOUT_SECONDS,
            socket_connect_timeout=COMMAND_TIMEOUT_SECONDS,
            max_connections=settings.REDIS_MAX_CONNECTIONS,
            timeout=settings.REDIS_POOL_TIMEOUT, decode_responses=True)
        client = _clients[loop] = aioredis.Redis.from_pool(pool)
    return client


def _process() -> _Process:
    loop = asyncio.get_running_loop()
    found = _processes.get(loop)
    if found is None:
        found = _processes[loop] = _Process()
    return found


def _prefix() -> str:
    layers: Any = settings.CHANNEL_LAYERS
    return str(layers["default"]["CONFIG"].get("prefix", "asgi"))


def room_key(room: str) -> str:
    return f"{_prefix()}:presence:{room}"


def touched_key(room: str) -> str:
    return f"{_prefix()}:presence-touched:{room}"


def flush_lock_key(room: str) -> str:
    return f"{_prefix()}:presence-flush:{room}"


def process_key(process_id: str) -> str:
    return f"{_prefix()}:presence-process:{process_id}"


def _keys(room: str) -> list[str]:
    return [room_key(room), touched_key(room), flush_lock_key(room)]


def _liveness_ms() -> int:
    return max(1, math.ceil(
        settings.LIVE_PRESENCE_HEARTBEAT_SECONDS * PRESENCE_STALE_PERIODS * 1000))


def _lock_ms() -> int:
    # Held across the owner's wait; if the owner dies, the next change claims it this
    # long after.
    return max(1000, math.ceil(settings.LIVE_PRESENCE_COALESCE_SECONDS * 3000))


def _names(values: Any) -> list[str]:
    return sorted((str(v) for v in values), key=str.lower)


def _sync_args(process: _Process, mode: str, listing: bool, present: list[str],
               absent: list[str]) -> list[Any]:
    return [process_key(""), process.id, _liveness_ms(), PRESENCE_TTL_SECONDS, _lock_ms(),
            mode, "1" if listing else "0", len(present), *present, *absent]


async def presence_join(room: str, username: str) -> list[str]:
    """One more socket of `username` in `room`; returns everyone there now."""
    process = _process()
    counts = process.rooms.setdefault(room, {})
    counts[username] = counts.get(username, 0) + 1
    if counts[username] == 1:
        process.dirty.setdefault(room, set()).add(username)
    process.listing.add(room)
    try:
        return await _wait_round(process, room)
    except BaseException:
        # Not told, or maybe told: the count goes back and the heartbeat re-asserts.
        if _forget(process, room, username):
            process.dirty.setdefault(room, set()).add(username)
        process.unsynced.add(room)
        _ensure_heartbeat(process)
        raise


async def presence_leave(room: str, username: str) -> None:
    """One socket fewer; Redis hears of it only when it was the process's last one of
    them. Raises when that round failed (the heartbeat retries it)."""
    process = _process()
    if not _forget(process, room, username):
        return
    process.dirty.setdefault(room, set()).add(username)
    await _wait_round(process, room)


async def presence_members(room: str) -> list[str]:
    """Everyone in `room` now (from the next round, which this joins)."""
    process = _process()
    process.listing.add(room)
    return await _wait_round(process, room)


def _forget(process: _Process, room: str, username: str) -> bool:
    """Count one local socket fewer; True when it was the member's last one here."""
    counts = process.rooms.get(room, {})
    left = counts.get(username, 0) - 1
    if left > 0:
        counts[username] = left
        return False
    counts.pop(username, None)
    if not counts:
        process.rooms.pop(room, None)
    return True


def _wait_round(process: _Process, room: str) -> asyncio.Future[list[str]]:
    future: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
    process.waiters.setdefault(room, []).append(future)
    process.wake.set()
    if process.batcher is None or process.batcher.done():
        process.batcher = asyncio.create_task(_batcher(process), name="chat presence rounds")
    _ensure_heartbeat(process)
    return future


async def _batcher(process: _Process) -> None:
    # Runs while rounds keep coming; a failed round's changes wait for the heartbeat
    # rather than retrying in a loop against a Redis that is down.
    while process.wake.is_set():
        process.wake.clear()
        try:
            await _round(process)
        except Exception:
            log.exception("presence round failed")
    process.batcher = None  # no await since the check: the next change starts a new one


async def _round(process: _Process) -> None:
    """Send every changed room's state, each in one script, all in one pipeline."""
    async with process.lock:
        rooms = sorted(set(process.dirty) | set(process.waiters) | process.listing)
        if not rooms:
            return
        batch = []
        for room in rooms:
            changed = process.dirty.pop(room, set())
            counts = process.rooms.get(room, {})
            present = sorted(u for u in changed if counts.get(u, 0) > 0)
            absent = sorted(u for u in changed if counts.get(u, 0) <= 0)
            listing = room in process.listing
            process.listing.discard(room)
            batch.append((room, changed, listing, present, absent,
                          process.waiters.pop(room, [])))
        pipe = _client().pipeline(transaction=False)
        for room, _changed, listing, present, absent, _waiters in batch:
            pipe.eval(_SYNC_SCRIPT, 3, *_keys(room),
                      *_sync_args(process, "sync", listing, present, absent))
        process.rounds += len(batch)
        try:
            results: list[Any] = await pipe.execute(raise_on_error=False)
        except BaseException as exc:
            results = [exc] * len(batch)
        for (room, changed, _listing, _present, _absent, waiters), result in zip(
                batch, results, strict=True):
            if isinstance(result, BaseException):
                # Maybe applied, maybe not: keep it changed for the next round and the
                # heartbeat; each waiter hears why.
                process.dirty.setdefault(room, set()).update(changed)
                process.unsynced.add(room)
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(_as_error(result))
                continue
            process.unsynced.discard(room)
            members, claimed = result
            names = _names(members)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(names)
            if claimed:
                _start_flush(process, room)


def _as_error(result: BaseException) -> BaseException:
    return result if isinstance(result, Exception) else RuntimeError("presence round cancelled")


def _ensure_heartbeat(process: _Process) -> None:
    if process.heartbeat is None or process.heartbeat.done():
        process.heartbeat = asyncio.create_task(_heartbeat(process),
                                                name="chat presence heartbeat")


async def presence_heartbeat_once(process: _Process | None = None) -> None:
    """Renew this process's liveness, re-assert its members and sweep dead processes'
    entries out of every room it has sockets in; what changed is announced coalesced."""
    process = process or _process()
    async with process.lock:
        rooms = sorted(set(process.rooms) | process.unsynced)
        for room in rooms:
            names = sorted(process.rooms.get(room, {}))
            try:
                _members, claimed = await _client().eval(
                    _SYNC_SCRIPT, 3, *_keys(room),
                    *_sync_args(process, "exact", False, names, []))
            except Exception:
                log.exception("presence heartbeat for %s failed", room)
                continue
            process.unsynced.discard(room)
            # What the round had pending for the room is in the exact state just sent.
            if room not in process.waiters:
                process.dirty.pop(room, None)
            if claimed:
                _start_flush(process, room)


async def _heartbeat(process: _Process) -> None:
    while True:
        await asyncio.sleep(settings.LIVE_PRESENCE_HEARTBEAT_SECONDS)
        if not process.rooms and not process.unsynced and not process.dirty:
            process.heartbeat = None  # no await since the check: a join starts a new one
            return
        try:
            await presence_heartbeat_once(process)
        except Exception:
            log.exception("presence heartbeat failed")


def _start_flush(process: _Process, room: str) -> None:
    task = process.flushers.get(room)
    if task is None or task.done():
        process.flushers[room] = asyncio.create_task(_flush_loop(process, room),
                                                     name=f"chat presence flush {room}")


async def _flush_loop(process: _Process, room: str) -> None:
    """While this process holds the room's flush lock: every interval, one frame with
    every member whose presence changed in it."""
    try:
        while True:
            await asyncio.sleep(settings.LIVE_PRESENCE_COALESCE_SECONDS)
            try:
                joined, left, keep = await _client().eval(
                    _FLUSH_SCRIPT, 3, *_keys(room), process_key(""), process.id, _lock_ms())
            except Exception:
                log.exception("presence flush for %s failed", room)
                return  # the lock expires; the next change or heartbeat claims it
            if joined or left:
                await announce(room, joined=_names(joined), left=_names(left))
            if not keep:
                return
    finally:
        if process.flushers.get(room) is asyncio.current_task():
            del process.flushers[room]


async def announce(room: str, *, joined: list[str], left: list[str]) -> None:
    """One presence frame on the room's stream: who is here now and who is gone."""
    if not joined and not left:
        return
    await publish_now(ChatPresence(room=room, payload={
        "room": room, "joined": joined, "left": left}))
