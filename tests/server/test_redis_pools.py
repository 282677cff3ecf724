"""The async Redis pools (channel layer, presence) against real Redis: when more coroutines
want a connection than the pool holds, they wait for one instead of failing with redis-py's
MaxConnectionsError ("Too many connections"), which a 5,000-socket connect storm hit at
REDIS_MAX_CONNECTIONS=1000 (server/channel_layer.py, consumers/presence.py)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

import pytest
from channels.layers import get_channel_layer
from django.conf import settings
from redis import asyncio as aioredis
from redis.exceptions import MaxConnectionsError

from consumers import presence
from server.channel_layer import RedisChannelLayer

USERS = 6  # concurrent users of a pool of 2


def _layer(max_connections: int) -> RedisChannelLayer:
    default = cast(dict[str, Any], settings.CHANNEL_LAYERS["default"]["CONFIG"])
    host = {**default["hosts"][0], "max_connections": max_connections, "pool_timeout": 30}
    return RedisChannelLayer(**{**default, "hosts": [host],
                                "prefix": f"pool-test-{uuid.uuid4().hex[:8]}"})


async def _hold_a_connection_each(client: aioredis.Redis, users: int) -> list[Any]:
    """Each user keeps its connection busy (BLPOP on an empty list) for a moment."""
    key = f"pool-test-{uuid.uuid4().hex}"
    return await asyncio.gather(*(client.blpop([f"{key}:{n}"], timeout=0.2)
                                  for n in range(users)))


async def test_more_users_than_the_layer_pool_holds_all_get_through():
    layer = _layer(max_connections=2)
    pool = layer.create_pool(0)
    assert isinstance(pool, aioredis.BlockingConnectionPool)
    client = aioredis.Redis.from_pool(pool)
    try:
        assert await _hold_a_connection_each(client, USERS) == [None] * USERS
    finally:
        await client.aclose()


async def test_the_layer_sends_and_receives_through_a_pool_smaller_than_its_users():
    layer = _layer(max_connections=2)
    channels = [await layer.new_channel() for _ in range(USERS)]
    await asyncio.gather(*(layer.send(c, {"type": "test.message", "n": n})
                           for n, c in enumerate(channels)))
    got = await asyncio.gather(*(layer.receive(c) for c in channels))
    assert [m["n"] for m in got] == list(range(USERS))
    await layer.flush()


async def test_a_plain_pool_of_the_same_size_fails_the_same_users():
    # What the storm hit: the test above would fail with channels-redis's own pool.
    client = aioredis.Redis.from_pool(aioredis.ConnectionPool.from_url(
        settings.REDIS_URL, max_connections=2))
    try:
        with pytest.raises(MaxConnectionsError):
            await _hold_a_connection_each(client, USERS)
    finally:
        await client.aclose()


async def test_the_site_layer_and_presence_use_blocking_pools_of_the_configured_size():
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    pool = layer.create_pool(0)
    assert isinstance(pool, aioredis.BlockingConnectionPool)
    assert (pool.max_connections, pool.timeout) == (settings.REDIS_MAX_CONNECTIONS,
                                                   settings.REDIS_POOL_TIMEOUT)
    await pool.disconnect()
    presence_pool = presence._client().connection_pool
    assert isinstance(presence_pool, aioredis.BlockingConnectionPool)
    assert presence_pool.max_connections == settings.REDIS_MAX_CONNECTIONS
