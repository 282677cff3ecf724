"""The live socket through the real ASGI stack (origin check, cookie session, auth),
over the real Redis channel layer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from consumers.live import CLOSE_UNAUTHORIZED, MAX_FRAME_BYTES, MAX_HAVE
from domain.accounts.models import UserStatus
from domain.events import user_group
from server.asgi import application
from tests.factories import make_user

# Transactional, because the consumer reaches the database from another thread and must
# see committed rows (tests/conftest.py restores the seed rows after each flush).
pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")

Headers = list[tuple[bytes, bytes]]


def session_headers(user) -> Headers:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()), ORIGIN]


@pytest.fixture
def member_headers(member) -> Headers:
    return session_headers(member)


@asynccontextmanager
async def live_socket(headers: Headers) -> AsyncIterator[WebsocketCommunicator]:
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    try:
        yield communicator
    finally:
        await communicator.disconnect()


@asynccontextmanager
async def hello_socket(headers: Headers) -> AsyncIterator[WebsocketCommunicator]:
    async with live_socket(headers) as communicator:
        hello = await communicator.receive_json_from()
        assert hello["type"] == "hello"
        yield communicator


async def group_members(group: str) -> int:
    layer = get_channel_layer()
    # channels-redis keeps a group as a sorted set of channel names.
    connection = layer.connection(layer.consistent_hash(group))
    return await connection.zcard(layer._group_key(group))


async def assert_refused(headers: Headers) -> None:
    async with live_socket(headers) as communicator:
        closed = await communicator.receive_output()
        assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHORIZED}


async def test_anonymous_is_refused_with_4401():
    await assert_refused([ORIGIN])


async def test_forged_session_cookie_is_refused():
    await assert_refused([(b"cookie", f"{settings.SESSION_COOKIE_NAME}=forged".encode()),
                          ORIGIN])


async def test_inactive_member_is_refused(banned):
    await assert_refused(await sync_to_async(session_headers)(banned))


async def test_member_deactivated_after_login_is_refused(member, member_headers):
    member.status = UserStatus.DISABLED
    await sync_to_async(member.save)(update_fields=["status"])

    await assert_refused(member_headers)


async def test_foreign_origin_is_rejected_at_handshake(member_headers):
    headers = [h for h in member_headers if h[0] != b"origin"]
    headers.append((b"origin", b"https://evil.example"))
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)

    connected, _ = await communicator.connect()

    assert connected is False
    await communicator.disconnect()


async def test_hello_names_the_member_and_joins_their_group(member, member_headers):
    group = user_group(member.id)
    async with live_socket(member_headers) as communicator:
        assert await communicator.receive_json_from() == {
            "type": "hello", "payload": {
                "username": member.username,
                "replay_window_ms": int(settings.LIVE_CATCH_UP_SETTLE_SECONDS * 1000)},
        }
        assert await group_members(group) == 1

    assert await group_members(group) == 0  # left on disconnect


async def test_ping_gets_pong_with_the_same_id(member_headers):
    async with hello_socket(member_headers) as communicator:
        await communicator.send_json_to({"type": "ping", "id": 7})
        assert await communicator.receive_json_from() == {"type": "pong", "id": 7}

        await communicator.send_json_to({"type": "ping", "id": "req-8"})
        assert await communicator.receive_json_from() == {"type": "pong", "id": "req-8"}

        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from() == {"type": "pong", "id": None}


@pytest.mark.parametrize(
    ("frame", "code", "request_id"),
    [
        ('{"type": "ping", "id": 1', "bad_json", None),
        ("not json at all", "bad_json", None),
        ("[" * 100_000, "too_large", None),
        ("[" * 50_000, "bad_json", None),  # nesting deep enough to hit the recursion limit
        ("[1, 2]", "bad_frame", None),
        ('"ping"', "bad_frame", None),
        ("null", "bad_frame", None),
        ('{"id": 3}', "bad_frame", 3),
        ('{"type": 5, "id": 4}', "bad_frame", 4),
        ('{"type": "teleport", "id": "s1"}', "unknown_type", "s1"),
        ('{"type": "subscribe", "id": "s2"}', "bad_stream", "s2"),
        ('{"type": "subscribe", "stream": "chat:", "id": 5}', "bad_stream", 5),
        ('{"type": "subscribe", "stream": "forum:not-a-uuid", "id": 6}', "bad_stream", 6),
        ('{"type": "subscribe", "stream": "inbox", "payload": [1], "id": 7}', "bad_frame", 7),
        ('{"type": "subscribe", "stream": "inbox", "payload": {"since": "x"}}', "bad_since",
         None),
        ('{"type": "subscribe", "stream": "inbox", "payload": {"have": "x"}, "id": 9}',
         "bad_have", 9),
        ('{"type": "subscribe", "stream": "inbox", "payload": {"have": {"a": 1}}}', "bad_have",
         None),
        ('{"type": "subscribe", "stream": "inbox", "payload": {"have": [17]}}', "bad_have",
         None),
        ('{"type": "subscribe", "stream": "inbox", "payload": {"have": ["123:abc"]}}',
         "bad_have", None),
        ('{"type": "subscribe", "stream": "inbox", "payload": {"have": ["00000000000000001"]}}',
         "bad_have", None),
        (json.dumps({"type": "subscribe", "stream": "inbox", "payload": {
            "have": [f"{n:017d}:{'a' * 65}" for n in range(2)]}}), "bad_have", None),
        (json.dumps({"type": "subscribe", "stream": "inbox", "id": 10, "payload": {
            "have": [f"{n:017d}:{n}" for n in range(MAX_HAVE + 1)]}}), "bad_have", 10),
        ('{"type": "chat.post", "stream": "inbox", "id": 8}', "bad_stream", 8),
        ('{"type": "ping", "id": {"nested": 1}}', "invalid_id", None),
        ('{"type": "ping", "id": true}', "invalid_id", None),
        (json.dumps({"type": "ping", "id": "x" * 65}), "invalid_id", None),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_stays_open(
    member_headers, frame, code, request_id
):
    async with hello_socket(member_headers) as communicator:
        await communicator.send_to(text_data=frame)

        error = await communicator.receive_json_from()
        assert error["type"] == "error"
        assert error["id"] == request_id
        assert error["payload"]["code"] == code
        assert isinstance(error["payload"]["message"], str)

        await communicator.send_json_to({"type": "ping", "id": "after"})
        assert await communicator.receive_json_from() == {"type": "pong", "id": "after"}


async def test_oversize_frame_is_refused_without_being_parsed(member_headers):
    padding = "x" * MAX_FRAME_BYTES
    async with hello_socket(member_headers) as communicator:
        await communicator.send_json_to({"type": "ping", "id": 1, "padding": padding})
        error = await communicator.receive_json_from()
        assert error["payload"]["code"] == "too_large"
        assert error["id"] is None

        # Multi-byte characters count as bytes, not characters.
        await communicator.send_json_to({"type": "ping", "id": 2,
                                         "padding": "é" * (MAX_FRAME_BYTES // 2)})
        assert (await communicator.receive_json_from())["payload"]["code"] == "too_large"

        await communicator.send_json_to({"type": "ping", "id": 3, "padding": "x" * 60_000})
        assert await communicator.receive_json_from() == {"type": "pong", "id": 3}


async def test_binary_frame_gets_an_error(member_headers):
    async with hello_socket(member_headers) as communicator:
        await communicator.send_to(bytes_data=b'{"type": "ping"}')
        error = await communicator.receive_json_from()
        assert error["payload"]["code"] == "binary_unsupported"

        await communicator.send_json_to({"type": "ping", "id": 1})
        assert await communicator.receive_json_from() == {"type": "pong", "id": 1}


async def test_group_event_reaches_the_members_socket(member, member_headers):
    layer = get_channel_layer()
    async with hello_socket(member_headers) as communicator:
        await layer.group_send(
            user_group(member.id),
            {"type": "live.event", "payload": {"kind": "pm", "unread": 3}},
        )

        assert await communicator.receive_json_from(timeout=5) == {
            "type": "event", "payload": {"kind": "pm", "unread": 3},
        }


async def test_event_for_another_member_is_not_delivered(member_headers):
    other = await sync_to_async(make_user)("member")
    layer = get_channel_layer()
    async with hello_socket(member_headers) as communicator:
        await layer.group_send(
            user_group(other.id), {"type": "live.event", "payload": {"kind": "pm"}}
        )

        assert await communicator.receive_nothing(timeout=0.5)


async def test_every_tab_of_a_member_gets_the_event(member, member_headers):
    layer = get_channel_layer()
    async with hello_socket(member_headers) as first, hello_socket(member_headers) as second:
        await layer.group_send(
            user_group(member.id), {"type": "live.event", "payload": {"n": 1}}
        )

        for tab in (first, second):
            assert await tab.receive_json_from(timeout=5) == {
                "type": "event", "payload": {"n": 1},
            }



async def test_notifications_reach_the_socket_and_revocation_closes_it(member, member_headers):
    from django.db import transaction

    from domain.community.notifications import notification_send

    def send() -> None:
        with transaction.atomic():
            notification_send(user_id=member.id, kind="system", title="Welcome aboard")

    async with hello_socket(member_headers) as communicator:
        await sync_to_async(send)()
        frame = await communicator.receive_json_from(timeout=5)
        assert frame["type"] == "notification"
        assert frame["payload"]["title"] == "Welcome aboard"
        assert frame["payload"]["unread"] == 1

        await get_channel_layer().group_send(user_group(member.id),
                                             {"type": "session.revoked", "payload": {}})
        closed = await communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHORIZED}
