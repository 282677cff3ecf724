"""A socket whose reader stops, under the real daphne: once the server holds more than
LIVE_SEND_BUFFER_BYTES unsent for it, it is dropped (close 4008, then the connection cut)
and leaves the room, while a member reading normally in the same room gets every event."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from websockets.exceptions import ConnectionClosed

from domain.community.models import ChatRoom
from domain.events import chat_room_group
from tests.consumers.servers import connect, daphne, frames_until, session_cookie
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)

BUFFER = 65536
EVENT_BODY = "x" * 8000
EVENTS = 600  # 4.8 MB: past the bound and past what the kernel's buffers can hold


async def stalled_client(server: Any, cookie: str) -> Any:
    """A client that stops reading: a tiny receive window, one frame queued client-side."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    return await connect(server, cookie, sock=sock, max_queue=1, max_size=2**20)


async def test_a_reader_that_stops_is_dropped_and_nobody_else_waits(tmp_path: Path):
    name = f"slow-{uuid.uuid4().hex[:10]}"
    await sync_to_async(ChatRoom.objects.create)(name=name, display_name=name)
    alice = await sync_to_async(make_user)("member")
    slow = await sync_to_async(make_user)("member")
    with daphne(tmp_path / "daphne.log",
                LIVE_SEND_BUFFER_BYTES=str(BUFFER),
                LIVE_PRESENCE_COALESCE_SECONDS="0.2") as server:
        reader = await connect(server, await sync_to_async(session_cookie)(alice),
                               max_size=2**20)
        stalled = await stalled_client(server, await sync_to_async(session_cookie)(slow))
        try:
            for ws in (reader, stalled):
                await ws.send(json.dumps({"type": "subscribe", "stream": f"chat:{name}",
                                          "id": "s"}))
            await frames_until(reader, lambda f: f.get("type") == "subscribed")
            await frames_until(reader, lambda f: slow.username in f.get("payload", {})
                               .get("joined", []))

            layer = get_channel_layer()
            got: list[int] = []
            left = asyncio.Event()

            async def read() -> None:
                async for raw in reader:
                    frame = json.loads(raw)
                    if frame.get("event") == "chat.message":
                        got.append(frame["payload"]["n"])
                    elif slow.username in frame.get("payload", {}).get("left", []):
                        left.set()

            task = asyncio.create_task(read())
            for n in range(EVENTS):
                # Paced by the reader, so the channel layer's per-channel capacity never
                # drops an event: what is measured is the server's own buffering.
                while len(got) < n - 40:
                    await asyncio.sleep(0.01)
                await layer.group_send(chat_room_group(name), {
                    "type": "chat.message", "payload": {
                        "event_id": None, "id": str(n), "n": n, "room": name,
                        "user_id": None, "username": "bench", "body": EVENT_BODY}})
            deadline = asyncio.get_running_loop().time() + 60  # a guard, not a measure
            while len(got) < EVENTS and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            # The stalled socket was dropped: its member left the room, said to the others.
            await asyncio.wait_for(left.wait(), 30)
            task.cancel()
            assert got == list(range(EVENTS))

            # What the stalled client had been sent before the drop, then the end.
            received = 0
            with pytest.raises(ConnectionClosed):
                while True:
                    frame = json.loads(await asyncio.wait_for(stalled.recv(), 30))
                    received += frame.get("event") == "chat.message"
            assert received < EVENTS
            assert stalled.close_code in (4008, 1006), stalled.close_code
        finally:
            await reader.close()
            await stalled.close()
