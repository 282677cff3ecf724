"""channels-redis's layer, with a receive that a cancellation cannot rob.

In one process every socket's channel, and every hub group's channel, is read through one
Redis list (the process's "specific" channel), by whichever waiting `receive` holds the
layer's receive lock: it pops the next message, whoever it is for, and hands it to that
channel's buffer. When a tab closes, Channels cancels its consumer's `receive`. If that
receive held the lock and its BZPOPMIN had already taken a message off Redis (the reply
on its way, or the backup ZADD after it in flight), the cancellation drops the message:
it is neither in the list nor in the backup any more, and the member it was for (anyone in
the process) never gets it. django/channels#1683 and django/channels_redis#366 report it;
our slow-reader test lost one chat event in 600 exactly when the stalled socket closed.

Here the pop runs as its own task under asyncio.shield: a cancelled receive returns at
once, while the pop finishes and leaves what it took in the backup queue. The next receive
on that key waits for that pop, then starts with channels-redis's own clean-up script,
which puts backed-up messages back at the front of the list, in their order, and pops the
oldest first. Nothing is lost and nothing is reordered; the price, only when a cancelled
receive had taken a message, is one more pop of it.

Its pools are redis-py's BlockingConnectionPool: channels-redis's plain pool raises
MaxConnectionsError ("Too many connections") as soon as max_connections are in use, which
a connect storm of thousands of sockets reached; a blocking pool makes the burst wait (up
to the host's "pool_timeout" seconds) for a connection another coroutine gives back.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels_redis.core import RedisChannelLayer as _RedisChannelLayer
from channels_redis.utils import create_pool
from redis import asyncio as aioredis


class RedisChannelLayer(_RedisChannelLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The pop a cancelled receive left running, per Redis key: the next receive of
        # that key waits for it before its own clean-up and pop.
        self.orphan_pops: dict[str, asyncio.Future[Any]] = {}

    def create_pool(self, index: int) -> aioredis.ConnectionPool:
        host = dict(self.hosts[index])
        timeout = host.pop("pool_timeout", 20)
        if "address" not in host:  # sentinel or host/port entries: channels-redis's own
            return create_pool(host)  # type: ignore[no-any-return]
        address = host.pop("address")
        return aioredis.BlockingConnectionPool.from_url(address, timeout=timeout, **host)

    async def receive_single(self, channel: str) -> tuple[Any, Any]:
        assert self.require_valid_channel_name(channel, receive=True), "Channel name invalid"
        if "!" in channel:
            assert channel.endswith("!")
            index = self.consistent_hash(channel)
        else:
            index = next(self._receive_index_generator)

        channel_key = self.prefix + channel
        await self.receive_clean_locks.acquire(channel_key)
        try:
            await self._orphan_finished(channel_key)
            content = None
            while content is None:
                pop = asyncio.ensure_future(
                    self._brpop_with_clean(index, channel_key, timeout=self.brpop_timeout))
                try:
                    content = await asyncio.shield(pop)
                except asyncio.CancelledError:
                    # The pop goes on; whatever it takes stays in the backup queue, and the
                    # next receive of this key waits for it (see the module doc).
                    self._adopt(channel_key, pop)
                    raise
        except BaseException:
            self.receive_clean_locks.release(channel_key)
            raise

        # As channels-redis does: clean the message from its backup queue, then release.
        self._clean_then_release(index, channel_key)

        message = self.deserialize(content)
        if "__asgi_channel__" in message:
            channel = message["__asgi_channel__"]
            del message["__asgi_channel__"]
        return channel, message

    def _adopt(self, channel_key: str, pop: asyncio.Future[Any]) -> None:
        self.orphan_pops[channel_key] = pop

        def done(task: asyncio.Future[Any]) -> None:
            if not task.cancelled():
                task.exception()  # retrieved: a failed pop took nothing, raises to nobody
            if self.orphan_pops.get(channel_key) is task:
                del self.orphan_pops[channel_key]

        pop.add_done_callback(done)

    async def _orphan_finished(self, channel_key: str) -> None:
        """Wait for a cancelled receive's pop on this key, so that what it took is in the
        backup queue before this receive's clean-up runs (and is put back in front). One
        left by an event loop that has gone (tests run one loop each) is forgotten."""
        orphan = self.orphan_pops.get(channel_key)
        if orphan is None or orphan.done():
            return
        if orphan.get_loop() is not asyncio.get_running_loop():
            del self.orphan_pops[channel_key]
            return
        await asyncio.wait([orphan])  # a cancellation here leaves the orphan registered

    def _clean_then_release(self, index: int, channel_key: str) -> None:
        cleaner = asyncio.ensure_future(self._clean_receive_backup(index, channel_key))
        self.receive_cleaners.append(cleaner)

        def cleanup_done(task: asyncio.Future[Any]) -> None:
            self.receive_cleaners.remove(task)
            self.receive_clean_locks.release(channel_key)

        cleaner.add_done_callback(cleanup_done)
