"""Staff must enrol two-factor authentication on the socket as on the pages: a session that
logged in with the password alone opens no live socket (no moderation stream, no chat
moderation), and a member moved into a class that requires 2FA they have not enrolled
loses the sessions and sockets they opened before."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from consumers.live import CLOSE_UNAUTHORIZED
from domain.accounts.models import UserGroup, UserSession
from domain.accounts.services import user_group_set
from server.asgi import application
from tests.consumers.sockets import ORIGIN, open_socket, session_headers, subscribe
from tests.domain.accounts.factories import client_for, enable_two_factor
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _password_login_headers(user) -> list[tuple[bytes, bytes]]:
    """Log in through the real login form, password only, as a browser would."""
    client = client_for()
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()), ORIGIN]


async def _closed_at_once(headers) -> bool:
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected  # accepted, then closed with a code the page understands
    closed = await communicator.receive_output(5)
    await communicator.disconnect()
    return closed == {"type": "websocket.close", "code": CLOSE_UNAUTHORIZED}


async def test_a_password_only_staff_session_opens_no_socket(moderator):
    headers = await sync_to_async(_password_login_headers)(moderator)
    assert await _closed_at_once(headers)


async def test_staff_with_two_factor_and_members_keep_their_socket(moderator, member):
    await sync_to_async(enable_two_factor)(moderator)
    async with open_socket(await sync_to_async(session_headers)(moderator)) as socket:
        reply = await subscribe(socket, "moderation")
        assert reply["stream"] == "moderation"
    # A member logged in by password alone needs no second factor.
    headers = await sync_to_async(_password_login_headers)(member)
    async with open_socket(headers):
        pass


async def test_promotion_into_a_2fa_class_ends_the_sessions_and_sockets_opened_before(
        member, sysop):
    headers = await sync_to_async(_password_login_headers)(member)
    moderators = await sync_to_async(UserGroup.objects.get)(name="moderator")
    async with open_socket(headers) as socket:
        await sync_to_async(user_group_set)(actor=sysop, user=member, group=moderators)
        closed = await socket.receive_output(5)
        while closed.get("type") == "websocket.send":  # the group-change notification
            closed = await socket.receive_output(5)
        assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHORIZED}
    open_sessions = await sync_to_async(
        UserSession.objects.filter(user=member, revoked_at__isnull=True).count)()
    assert open_sessions == 0
    assert await _closed_at_once(headers)


async def test_promotion_of_a_member_who_has_two_factor_keeps_their_session(member, sysop):
    await sync_to_async(enable_two_factor)(member)
    moderators = await sync_to_async(UserGroup.objects.get)(name="moderator")
    await sync_to_async(user_group_set)(actor=sysop, user=member, group=moderators)
    async with open_socket(await sync_to_async(session_headers)(member)) as socket:
        await subscribe(socket, "moderation")

