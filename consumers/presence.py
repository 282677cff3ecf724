"""Who is in a chat room right now, across every server process: a Redis hash per room,
member name -> number of that member's sockets in the room. Only a member's first socket
joining and last socket leaving are announced, as deltas ({"joined"} / {"left"}); the full
list comes once, in the subscribe reply. (Broadcasting the whole list on every join made a
room's join storm cost sockets x members frames.) A process that dies without disconnects
leaves its counts until the key expires (a day without joins)."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings

PRESENCE_TTL_SECONDS = 86400
# Presence commands are short: a bounded wait keeps a stalled Redis from hanging the
# socket, unlike the channel layer's blocking receive which must never time out.
COMMAND_TIMEOUT_SECONDS = 5

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
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


def _key(room: str) -> str:
    layers: Any = settings.CHANNEL_LAYERS
    return f"{layers['default']['CONFIG'].get('prefix', 'asgi')}:presence:{room}"


async def presence_join(room: str, username: str) -> tuple[bool, list[str]]:
    """Count one more socket of `username` in `room`: (first of theirs?, everyone here)."""
    key = _key(room)
    async with _client().pipeline(transaction=True) as pipe:
        pipe.hincrby(key, username, 1)
        pipe.expire(key, PRESENCE_TTL_SECONDS)
        pipe.hkeys(key)
        count, _, names = await pipe.execute()
    return count == 1, sorted(names, key=str.lower)


async def presence_leave(room: str, username: str) -> bool:
    """Count one socket fewer; True when it was the member's last one in the room."""
    key = _key(room)
    count = await _client().hincrby(key, username, -1)
    if count > 0:
        return False
    # A second tab may have joined between the two commands: delete only a count still <= 0.
    await _client().eval(
        "if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') <= 0 then "
        "redis.call('HDEL', KEYS[1], ARGV[1]) end", 1, key, username)
    return True


async def presence_members(room: str) -> list[str]:
    return sorted((str(n) for n in await _client().hkeys(_key(room))), key=str.lower)
