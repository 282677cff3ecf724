"""Ending a session ends its open WebSocket too (through the real ASGI stack, our session
engine, channels-redis and the live consumer), and only that session's socket."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from domain.accounts.models import UserSession
from domain.accounts.services import password_change, session_revoke
from domain.accounts.sessions import session_key_hash
from server.asgi import application
from tests.domain.accounts.factories import PASSWORD, client_for

pytestmark = pytest.mark.django_db(transaction=True)
CLOSE_UNAUTHORIZED = 4401


def _login(user):
    client = client_for(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    return key, [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode()),
                 (b"origin", b"http://testserver")]


async def _open(headers):
    socket = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from(timeout=5))["type"] == "hello"
    return socket


async def test_revoking_a_session_closes_its_socket_only(member):
    key_a, headers_a = await sync_to_async(_login)(member)
    _key_b, headers_b = await sync_to_async(_login)(member)
    socket_a, socket_b = await _open(headers_a), await _open(headers_b)
    row = await UserSession.objects.aget(token_hash=session_key_hash(key_a))

    await sync_to_async(session_revoke)(user=member, session_id=row.pk)

    assert await socket_a.receive_output(timeout=5) == {"type": "websocket.close",
                                                        "code": CLOSE_UNAUTHORIZED}
    assert await socket_b.receive_nothing(timeout=0.5)
    await socket_b.disconnect()
    # And the revoked session cannot open a new socket.
    again = WebsocketCommunicator(application, "/ws/", headers=headers_a)
    connected, _ = await again.connect()
    assert connected
    assert (await again.receive_output(timeout=5))["type"] == "websocket.close"
    await again.disconnect()


async def test_password_change_closes_other_sessions_sockets(member):
    key_a, headers_a = await sync_to_async(_login)(member)
    _key_b, headers_b = await sync_to_async(_login)(member)
    socket_a, socket_b = await _open(headers_a), await _open(headers_b)

    await sync_to_async(password_change)(user=member, old_password=PASSWORD,
                                         new_password="another-long-passphrase",
                                         current_session_key=key_a)

    assert (await socket_b.receive_output(timeout=5))["code"] == CLOSE_UNAUTHORIZED
    assert await socket_a.receive_nothing(timeout=0.5)
    await socket_a.disconnect()
