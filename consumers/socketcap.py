"""At most LIVE_MAX_SOCKETS_PER_MEMBER open sockets per member, across every server
process (issue 12.2): the socket over the cap is the new one, refused with close code
4429, so a member's open tabs keep working and a script cannot pile up sockets (each holds
memory, a channel-layer membership and a share of every fan-out).

Redis holds, per member, a hash channel name -> the time (ms) its entry lapses. A process
claims an entry when a socket opens (one script: drop lapsed entries, count, add if under
the cap), deletes it when the socket closes, and renews the entries of all its sockets
every CAP_RENEW_SECONDS in one pipeline; so the sockets of a process that died without
closing them stop counting CAP_ENTRY_SECONDS later at most.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any

from django.conf import settings

from consumers.presence import _client as redis_client
from consumers.presence import _prefix

log = logging.getLogger(__name__)

CAP_ENTRY_SECONDS = 60
CAP_RENEW_SECONDS = 20

# KEYS: the member's hash. ARGV: now (ms), lapse time (ms), the cap, this channel.
# Returns 1 when the socket may stay (entry added), 0 when the member is at the cap.
_CLAIM_SCRIPT = """
local key, now, lapse = KEYS[1], tonumber(ARGV[1]), ARGV[2]
local cap, channel = tonumber(ARGV[3]), ARGV[4]
local flat = redis.call('HGETALL', key)
local live = 0
for i = 1, #flat, 2 do
  if tonumber(flat[i + 1]) <= now then
    redis.call('HDEL', key, flat[i])
  elseif flat[i] ~= channel then
    live = live + 1
  end
end
if live >= cap then return 0 end
redis.call('HSET', key, channel, lapse)
redis.call('PEXPIRE', key, tonumber(lapse) - now)
return 1
"""


def member_key(user_id: Any) -> str:
    return f"{_prefix()}:sockets:{user_id}"


class _Local:
    """This event loop's sockets, by member, and the task that renews their entries."""

    def __init__(self) -> None:
        self.sockets: dict[str, set[str]] = {}
        self.renewer: asyncio.Task[None] | None = None


_locals: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Local] = (
    weakref.WeakKeyDictionary())


def _local() -> _Local:
    loop = asyncio.get_running_loop()
    found = _locals.get(loop)
    if found is None:
        found = _locals[loop] = _Local()
    return found


def _now_ms() -> int:
    return int(time.time() * 1000)


async def socket_claim(user_id: Any, channel: str) -> bool:
    """Count this socket for its member; False (count nothing) when they are at the cap.
    Redis trouble never refuses a socket: the cap is a guard, not a gate to the site."""
    cap = settings.LIVE_MAX_SOCKETS_PER_MEMBER
    if cap <= 0:
        return True
    now = _now_ms()
    try:
        allowed = await redis_client().eval(
            _CLAIM_SCRIPT, 1, member_key(user_id), now, now + CAP_ENTRY_SECONDS * 1000,
            cap, channel)
    except Exception:
        log.exception("counting the sockets of %s failed", user_id)
        allowed = 1
    if not int(allowed):
        return False
    local = _local()
    local.sockets.setdefault(str(user_id), set()).add(channel)
    if local.renewer is None or local.renewer.done():
        local.renewer = asyncio.create_task(_renew_loop(local), name="live socket cap")
    return True


async def socket_release(user_id: Any, channel: str) -> None:
    local = _local()
    mine = local.sockets.get(str(user_id))
    if mine is None or channel not in mine:
        return
    mine.discard(channel)
    if not mine:
        del local.sockets[str(user_id)]
    try:
        await redis_client().hdel(member_key(user_id), channel)
    except Exception:
        log.exception("releasing a socket of %s failed", user_id)  # it lapses by itself


async def socket_cap_renew(local: _Local | None = None) -> None:
    """Renew the entries of every socket of this process (one pipeline)."""
    local = local or _local()
    if not local.sockets:
        return
    now = _now_ms()
    lapse = now + CAP_ENTRY_SECONDS * 1000
    pipe = redis_client().pipeline(transaction=False)
    for user_id, channels in local.sockets.items():
        key = member_key(user_id)
        pipe.hset(key, mapping=dict.fromkeys(channels, lapse))
        pipe.pexpire(key, lapse - now)
    await pipe.execute()


async def _renew_loop(local: _Local) -> None:
    while True:
        await asyncio.sleep(CAP_RENEW_SECONDS)
        if not local.sockets:
            local.renewer = None  # no await since the check: a claim starts a new one
            return
        try:
            await socket_cap_renew(local)
        except Exception:
            log.exception("renewing the socket cap entries failed")
