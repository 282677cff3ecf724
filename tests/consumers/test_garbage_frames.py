"""The benchmark's garbage frames (tests/bench/realtime.py GARBAGE_FRAMES) under the real
daphne: each costs the sender an error frame, the socket stays open, a member in the same
room still gets the room's messages, and the server writes no traceback for any of them
(a logged traceback per bad frame is CPU every other socket waits for)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from domain.community.models import ChatRoom
from domain.events import chat_room_group
from tests.bench.realtime import GARBAGE_FRAMES
from tests.consumers.servers import connect, daphne, frames_until, session_cookie
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


async def test_garbage_frames_get_error_frames_and_no_traceback(tmp_path: Path):
    name = f"garbage-{uuid.uuid4().hex[:10]}"
    await sync_to_async(ChatRoom.objects.create)(name=name, display_name=name)
    sender = await sync_to_async(make_user)("member")
    reader = await sync_to_async(make_user)("member")
    with daphne(tmp_path / "daphne.log") as server:
        bad = await connect(server, await sync_to_async(session_cookie)(sender),
                            max_size=2**20)
        good = await connect(server, await sync_to_async(session_cookie)(reader))
        try:
            for ws in (bad, good):
                await ws.send(json.dumps({"type": "subscribe", "stream": f"chat:{name}",
                                          "id": "s"}))
                await frames_until(ws, lambda f: f.get("type") == "subscribed")
            for frame in GARBAGE_FRAMES:
                await bad.send(frame)
                got = await frames_until(bad, lambda f: f.get("type") == "error")
                assert got[-1]["payload"]["code"], got[-1]
            await bad.send(json.dumps({"type": "ping", "id": "after"}))
            assert (await frames_until(bad, lambda f: f.get("type") == "pong"))[-1][
                "id"] == "after"

            await get_channel_layer().group_send(chat_room_group(name), {
                "type": "chat.message", "payload": {
                    "event_id": None, "id": "m1", "room": name, "user_id": None,
                    "username": "bench", "body": "still here"}})
            for ws in (good, bad):
                await frames_until(ws, lambda f: f.get("event") == "chat.message"
                                   and f["payload"]["body"] == "still here")
        finally:
            await bad.close()
            await good.close()
            await asyncio.sleep(0.2)
        log = server.log()
    assert "Traceback" not in log, log[-3000:]
    assert "Exception inside application" not in log, log[-3000:]


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_the_hubs_frame_bytes_are_autobahns_own(size: int):
    """The bytes the hub writes to every daphne socket (consumers.hub.Frame.wire) are
    the frame autobahn would build for the same text."""
    from autobahn.websocket.protocol import PreparedMessage

    from consumers.hub import Frame

    text = "é" * (size // 2) + "x" * (size % 2)
    assert Frame(text).wire == PreparedMessage(text.encode(), False, False, True).payloadHybi
