"""Who is in a chat room right now, across every server process: a Redis hash per room,
one field per socket (its channel name), the member's name as value. A socket that dies
without a disconnect leaves its field until the key expires (a day without joins)."""

from __future__ import annotations

import asyncio
import weakref

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
    return f"{getattr(settings, 'CHANNELS_PREFIX', 'asgi')}:presence:{room}"


async def presence_join(room: str, channel_name: str, username: str) -> list[str]:
    client = _client()
    key = _key(room)
    async with client.pipeline(transaction=True) as pipe:
        pipe.hset(key, channel_name, username)
        pipe.expire(key, PRESENCE_TTL_SECONDS)
        pipe.hvals(key)
        *_, names = await pipe.execute()
    return sorted(set(names), key=str.lower)


async def presence_leave(room: str, channel_name: str) -> list[str]:
    client = _client()
    key = _key(room)
    async with client.pipeline(transaction=True) as pipe:
        pipe.hdel(key, channel_name)
        pipe.hvals(key)
        _, names = await pipe.execute()
    return sorted(set(names), key=str.lower)
