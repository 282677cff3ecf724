"""At most LIVE_MAX_SOCKETS_PER_MEMBER open sockets per member (issue 12.2): the one over
the cap is the new one, closed at once with 4429; a socket that closes frees its place;
other members are not affected; and the entries of a process that died stop counting."""

from __future__ import annotations

import time

import pytest
from channels.testing import WebsocketCommunicator

from consumers import socketcap
from consumers.live import CLOSE_TOO_MANY_SOCKETS
from server.asgi import application
from tests.consumers.sockets import open_socket
from tests.consumers.test_streams import assert_alive, user_and_headers

pytestmark = pytest.mark.django_db(transaction=True)


async def _refused(headers) -> dict:
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected  # accepted, then closed with a code the page understands
    closed = await communicator.receive_output(5)
    await communicator.disconnect()
    return closed


async def test_the_socket_over_the_cap_is_refused_and_a_closed_one_frees_its_place(settings):
    settings.LIVE_MAX_SOCKETS_PER_MEMBER = 2
    member, headers = await user_and_headers("member")
    _other, other_headers = await user_and_headers("member")
    async with open_socket(headers) as one:
        async with open_socket(headers):
            closed = await _refused(headers)
            assert closed["type"] == "websocket.close"
            assert closed["code"] == CLOSE_TOO_MANY_SOCKETS
            assert "2 open sockets" in closed.get("reason", "")
            # The sockets already open keep working; another member is not counted here.
            await assert_alive(one)
            async with open_socket(other_headers) as other:
                await assert_alive(other)
        # The second tab closed: there is room again.
        async with open_socket(headers) as again:
            await assert_alive(again)
    stored = await socketcap.redis_client().hlen(socketcap.member_key(member.id))
    assert stored == 0


async def test_entries_of_a_dead_process_lapse_and_stop_counting(settings):
    settings.LIVE_MAX_SOCKETS_PER_MEMBER = 1
    member, headers = await user_and_headers("member")
    key = socketcap.member_key(member.id)
    client = socketcap.redis_client()
    # A socket of a process that died without closing it, its entry lapsed.
    await client.hset(key, "specific.dead!abc", int(time.time() * 1000) - 1)
    async with open_socket(headers) as socket:
        await assert_alive(socket)
        assert await client.hexists(key, "specific.dead!abc") == 0
    # One that has not lapsed yet still counts.
    await client.hset(key, "specific.alive!abc", int(time.time() * 1000) + 60_000)
    closed = await _refused(headers)
    assert closed["code"] == CLOSE_TOO_MANY_SOCKETS
    await client.delete(key)


async def test_renewal_keeps_the_entries_of_open_sockets(settings):
    settings.LIVE_MAX_SOCKETS_PER_MEMBER = 5
    member, headers = await user_and_headers("member")
    key = socketcap.member_key(member.id)
    client = socketcap.redis_client()
    async with open_socket(headers):
        (channel,) = await client.hkeys(key)
        await client.hset(key, channel, 1)  # as if about to lapse
        await socketcap.socket_cap_renew()
        assert int(str(await client.hget(key, channel))) > time.time() * 1000
    assert await client.hlen(key) == 0


async def test_no_cap_when_the_setting_is_zero(settings):
    settings.LIVE_MAX_SOCKETS_PER_MEMBER = 0
    assert await socketcap.socket_claim("nobody", "specific.x!y") is True
    assert await socketcap.redis_client().exists(socketcap.member_key("nobody")) == 0
