"""Every event type of the catalog sent to a member's own group, through the real ASGI
stack and Redis channel layer: each reaches the member's socket, and only
session.revoked closes it."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer

from consumers.live import CLOSE_UNAUTHORIZED
from domain import events
from tests.consumers.sockets import open_socket, session_headers

pytestmark = pytest.mark.django_db(transaction=True)


async def test_each_member_event_reaches_the_socket_which_stays_open(member):
    from asgiref.sync import sync_to_async

    headers = await sync_to_async(session_headers)(member)
    layer = get_channel_layer()
    member_types = sorted(name for name, cls in events.event_types().items()
                          if issubclass(cls, events.MemberEvent) and name != "session.revoked")
    async with open_socket(headers) as socket:
        for n, name in enumerate(member_types):
            await layer.group_send(events.user_group(member.id),
                                   {"type": name, "payload": {"event_id": None, "n": n}})
            frame = await socket.receive_json_from(timeout=10)
            assert frame["payload"]["n"] == n, (name, frame)
            await socket.send_json_to({"type": "ping", "id": n})
            assert await socket.receive_json_from(timeout=10) == {"type": "pong", "id": n}
        await layer.group_send(events.user_group(member.id),
                               {"type": "session.revoked", "payload": {"reason": "test"}})
        closed = await socket.receive_output(timeout=10)
        assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHORIZED}
