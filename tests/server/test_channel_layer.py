"""The channel layer against real Redis: a receive cancelled while it holds the process's
pop (a tab closing while its consumer happens to be the one reading Redis) loses nothing
for the other channels of the process, and keeps their order (server/channel_layer.py).

The race is made deterministic: the cancelled receive is blocked in BZPOPMIN when another
thread sends, and the event loop is held until Redis has answered, so the reply is
waiting unread when the cancellation lands. Stock channels-redis loses most of these
messages (django/channels#1683); ours must deliver every one."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any, cast

from channels.layers import get_channel_layer
from django.conf import settings

from server.channel_layer import RedisChannelLayer

ROUNDS = 6


def _config() -> dict[str, Any]:
    default = cast(dict[str, Any], settings.CHANNEL_LAYERS["default"]["CONFIG"])
    config: dict[str, Any] = dict(default)
    config["prefix"] = f"layer-test-{uuid.uuid4().hex[:8]}"
    return config


def _send_from_another_thread(config: dict[str, Any], channel: str, numbers: list[int]) -> None:
    """Sends while this thread's event loop is blocked (as another process would)."""
    def run() -> None:
        async def go() -> None:
            sender = RedisChannelLayer(**config)
            for n in numbers:
                await sender.send(channel, {"type": "test.message", "n": n})
        asyncio.run(go())
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


async def test_the_site_uses_the_layer_that_keeps_what_a_cancelled_receive_took():
    assert isinstance(get_channel_layer(), RedisChannelLayer)


async def test_a_cancelled_receive_loses_no_message_of_another_channel():
    config = _config()
    layer = RedisChannelLayer(**config)
    hub_channel = await layer.new_channel()
    delivered: list[int] = []
    for round_ in range(ROUNDS):
        closing = asyncio.create_task(layer.receive(await layer.new_channel()))
        await asyncio.sleep(0.02)  # it takes the receive lock and blocks in BZPOPMIN
        waiting = asyncio.create_task(layer.receive(hub_channel))
        await asyncio.sleep(0.02)
        first = 2 * round_
        _send_from_another_thread(config, hub_channel, [first, first + 1])
        time.sleep(0.05)  # the loop is held: BZPOPMIN's reply arrives and waits unread
        closing.cancel()
        await asyncio.wait([closing], timeout=10)
        assert closing.cancelled()
        for _ in range(2):
            done, _pending = await asyncio.wait([waiting], timeout=10)
            assert done, f"round {round_}: a message never arrived ({delivered})"
            delivered.append(waiting.result()["n"])
            waiting = asyncio.create_task(layer.receive(hub_channel))
        waiting.cancel()
        await asyncio.wait([waiting], timeout=10)
    assert delivered == list(range(2 * ROUNDS))
