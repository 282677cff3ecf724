"""Who is in a chat room right now, across every server process, surviving a process that
dies without disconnecting its sockets.

Redis holds, per room, a hash member name -> the ids of the processes that have a socket
of that member in the room ("<id>,<id>"); and per process a liveness key that expires
PRESENCE_STALE_PERIODS heartbeats after it was last renewed. A process renews its key on
every presence command and, while it has members in any room, every
LIVE_PRESENCE_HEARTBEAT_SECONDS, when it also re-asserts its own members room by room
(what it holds in memory is the truth about its sockets). An entry of a process whose key
has expired counts for nobody: every command leaves it out of the member list and deletes
it, so a crashed process's members drop out within a few heartbeats (about a minute by
default) while a member who still has a socket on a live process stays.

Only changes are announced, as deltas on the room's stream: {"joined"} when a member
becomes present (their first socket, on any process) and {"left"} when their entry goes
(their last socket left, or the process holding it died); the full list comes once, in
the subscribe reply. (Broadcasting the whole list on every join made a room's join storm
cost sockets x members frames.) Each script runs atomically in Redis, so exactly one
caller sees a given change and announces it once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from channels.layers import get_channel_layer
from django.conf import settings

from domain.events import chat_room_group

log = logging.getLogger(__name__)

# A room nobody joins for a day is forgotten even if no live process cleans it up.
PRESENCE_TTL_SECONDS = 86400
# A process whose liveness key is this many heartbeats old is taken for dead.
PRESENCE_STALE_PERIODS = 3
# Presence commands are short: a bounded wait keeps a stalled Redis from hanging the
# socket, unlike the channel layer's blocking receive which must never time out.
COMMAND_TIMEOUT_SECONDS = 5

# KEYS[1]: the room's hash. ARGV: process key prefix, this process's id, its liveness
# time to live (ms), the room key's time to live (s), a mode, then member names:
#   add     this process now has a socket of each named member
#   remove  this process has no socket left of each named member
#   exact   this process has sockets of exactly the named members (the heartbeat)
#   read    nothing changes for this process
# Every mode but remove (a leave storm must stay cheap) walks the whole room, dropping
# entries of dead processes. Returns {members present after (of those it looked at),
# members who became present, members whose entry was deleted}.
_SYNC_SCRIPT = """
local key, prefix, me = KEYS[1], ARGV[1], ARGV[2]
local ttl_ms, key_ttl, mode = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
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
local named = {}
for i = 6, #ARGV do named[ARGV[i]] = true end
local members, joined, left = {}, {}, {}
local function settle(user, procs)
  local before, mine, keep = false, false, {}
  if procs then
    for p in string.gmatch(procs, '[^,]+') do
      if live(p) then before = true end
      if p == me then mine = true elseif live(p) then keep[#keep + 1] = p end
    end
  end
  if mode == 'add' and named[user] then mine = true
  elseif mode == 'remove' and named[user] then mine = false
  elseif mode == 'exact' then mine = named[user] == true end
  if mine then keep[#keep + 1] = me end
  if #keep == 0 then
    if procs then
      redis.call('HDEL', key, user)
      left[#left + 1] = user
    end
    return
  end
  members[#members + 1] = user
  local value = table.concat(keep, ',')
  if value ~= procs then redis.call('HSET', key, user, value) end
  if not before then joined[#joined + 1] = user end
end
local seen = {}
if mode ~= 'remove' then
  local flat = redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    seen[flat[i]] = true
    settle(flat[i], flat[i + 1])
  end
end
for i = 6, #ARGV do
  if not seen[ARGV[i]] then
    seen[ARGV[i]] = true
    settle(ARGV[i], redis.call('HGET', key, ARGV[i]))
  end
end
if #members > 0 then redis.call('EXPIRE', key, key_ttl) end
return {members, joined, left}
"""


@dataclass(frozen=True)
class PresenceChange:
    members: list[str]  # who is in the room now (empty from a leave, which reads no list)
    joined: list[str] = field(default_factory=list)  # became present
    left: list[str] = field(default_factory=list)  # gone: last socket, or a dead process


_NO_CHANGE = PresenceChange(members=[])


class _Process:
    """This event loop's part in presence: its id, its sockets per room and member, and
    the heartbeat that keeps both alive in Redis while it has any."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.rooms: dict[str, dict[str, int]] = {}  # room -> member -> local sockets
        # Rooms whose last join or leave may not have reached Redis (a timeout, a lost
        # reply, a cancel): the heartbeat re-asserts them even with no socket left there.
        self.unsynced: set[str] = set()
        # One presence command at a time per process, so a heartbeat's "exact" list can
        # never overtake a join or leave that changed it.
        self.lock = asyncio.Lock()
        self.heartbeat: asyncio.Task[None] | None = None


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary())
_processes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Process] = (
    weakref.WeakKeyDictionary())


def _client() -> aioredis.Redis:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = aioredis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=COMMAND_TIMEOUT_SECONDS,
            socket_connect_timeout=COMMAND_TIMEOUT_SECONDS,
            max_connections=settings.REDIS_MAX_CONNECTIONS, decode_responses=True)
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


def process_key(process_id: str) -> str:
    return f"{_prefix()}:presence-process:{process_id}"


def _liveness_ms() -> int:
    return max(1, math.ceil(
        settings.LIVE_PRESENCE_HEARTBEAT_SECONDS * PRESENCE_STALE_PERIODS * 1000))


def _names(values: Any) -> list[str]:
    return sorted((str(v) for v in values), key=str.lower)


async def _sync(process: _Process, room: str, mode: str, names: list[str]
                ) -> PresenceChange:
    members, joined, left = await _client().eval(
        _SYNC_SCRIPT, 1, room_key(room), process_key(""), process.id, _liveness_ms(),
        PRESENCE_TTL_SECONDS, mode, *names)
    return PresenceChange(members=_names(members), joined=_names(joined),
                          left=_names(left))


async def presence_join(room: str, username: str) -> PresenceChange:
    """One more socket of `username` in `room`; `members` is everyone there now."""
    process = _process()
    async with process.lock:
        counts = process.rooms.setdefault(room, {})
        counts[username] = counts.get(username, 0) + 1
        try:
            change = await _sync(process, room, "add", [username])
        except BaseException:
            _forget(process, room, username)
            process.unsynced.add(room)  # the script may have run: the heartbeat corrects
            _ensure_heartbeat(process)
            raise
        _ensure_heartbeat(process)
    return change


def _ensure_heartbeat(process: _Process) -> None:
    if process.heartbeat is None or process.heartbeat.done():
        process.heartbeat = asyncio.create_task(_heartbeat(process),
                                                name="chat presence heartbeat")


async def presence_leave(room: str, username: str) -> PresenceChange:
    """One socket fewer; Redis is told only when it was the process's last one of them."""
    process = _process()
    async with process.lock:
        if not _forget(process, room, username):
            return _NO_CHANGE
        try:
            change = await _sync(process, room, "remove", [username])
        except BaseException:
            # Left here, maybe still listed in Redis: without a retry the member would
            # show as present for as long as this process lives.
            process.unsynced.add(room)
            _ensure_heartbeat(process)
            raise
    return PresenceChange(members=[], joined=change.joined, left=change.left)


async def presence_members(room: str) -> PresenceChange:
    process = _process()
    async with process.lock:
        return await _sync(process, room, "read", [])


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


async def presence_heartbeat_once(process: _Process | None = None) -> None:
    """Renew this process's liveness, re-assert its members and sweep dead processes'
    entries out of every room it has sockets in, announcing what changed."""
    process = process or _process()
    for room in sorted(set(process.rooms) | process.unsynced):
        async with process.lock:
            names = list(process.rooms.get(room, {}))
            if not names and room not in process.unsynced:
                continue
            try:
                change = await _sync(process, room, "exact", names)
            except Exception:
                log.exception("presence heartbeat for %s failed", room)
                continue
            process.unsynced.discard(room)
        await announce(room, change)


async def _heartbeat(process: _Process) -> None:
    while True:
        await asyncio.sleep(settings.LIVE_PRESENCE_HEARTBEAT_SECONDS)
        if not process.rooms and not process.unsynced:
            process.heartbeat = None  # no await since the check: a join starts a new one
            return
        try:
            await presence_heartbeat_once(process)
        except Exception:
            log.exception("presence heartbeat failed")


async def announce(room: str, change: PresenceChange) -> None:
    """Tell the room's stream who joined and who left."""
    if not change.joined and not change.left:
        return
    layer = get_channel_layer()
    group = chat_room_group(room)
    for name in change.left:
        await layer.group_send(group, {"type": "chat.presence",
                                       "payload": {"room": room, "left": name}})
    for name in change.joined:
        await layer.group_send(group, {"type": "chat.presence",
                                       "payload": {"room": room, "joined": name}})
