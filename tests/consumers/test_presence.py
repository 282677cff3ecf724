"""Chat presence across server processes, through the real ASGI stack and the real Redis:
only a member's first socket joining and last socket leaving are announced, a member with a
socket on another live process stays, and a process that died without disconnecting (its
entry left behind, its liveness key gone) drops out on its own.

Each test uses a room of its own: presence lives in the Redis that other test runs share."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from consumers import presence
from domain.community.models import ChatRoom
from tests.consumers.sockets import drain, open_socket, session_headers, subscribe
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def room() -> AsyncIterator[str]:
    name = f"presence-{uuid.uuid4().hex[:12]}"
    await sync_to_async(ChatRoom.objects.create)(name=name, display_name=name)
    yield name
    await presence._client().delete(presence.room_key(name))


async def member_and_headers():
    user = await sync_to_async(make_user)("member")
    return user, await sync_to_async(session_headers)(user)


def presence_frames(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in f["payload"].items() if k != "room"}
            for f in frames if f.get("event") == "chat.presence"]


async def stored(room: str) -> dict[str, str]:
    entries = await presence._client().hgetall(presence.room_key(room))
    return {str(k): str(v) for k, v in entries.items()}


async def other_process(alive_for_ms: int | None) -> str:
    """A process id; with a time, its liveness key as that process last renewed it."""
    process_id = uuid.uuid4().hex
    if alive_for_ms is not None:
        await presence._client().set(presence.process_key(process_id), "1", px=alive_for_ms)
    return process_id


async def test_only_a_members_first_join_and_last_leave_are_announced(room):
    alice, alice_headers = await member_and_headers()
    bob, bob_headers = await member_and_headers()
    async with open_socket(alice_headers) as a:
        await subscribe(a, f"chat:{room}")
        await drain(a)
        async with open_socket(bob_headers) as tab1:
            reply = await subscribe(tab1, f"chat:{room}")
            assert reply["payload"]["members"] == sorted([alice.username, bob.username],
                                                         key=str.lower)
            async with open_socket(bob_headers) as tab2:
                await subscribe(tab2, f"chat:{room}")
                assert presence_frames(await drain(a, until=lambda f: "joined" in
                                                   f.get("payload", {}))) == [
                    {"joined": bob.username}]
            # One of bob's tabs went: he is still here, nothing is said.
            assert presence_frames(await drain(a)) == []
            assert bob.username in await stored(room)
        assert presence_frames(await drain(a, until=lambda f: "left" in f.get("payload", {}))
                               ) == [{"left": bob.username}]
        assert list(await stored(room)) == [alice.username]
    assert await stored(room) == {}


async def test_a_dead_processs_entries_are_ignored_and_purged_on_the_next_join(room):
    _alice, alice_headers = await member_and_headers()
    bob, bob_headers = await member_and_headers()
    dead = await other_process(alive_for_ms=None)  # crashed: its key has expired
    await presence._client().hset(presence.room_key(room), mapping={
        "ghost": dead, bob.username: dead})
    async with open_socket(alice_headers) as a, open_socket(bob_headers) as b:
        reply = await subscribe(a, f"chat:{room}")
        # Neither the ghost nor bob (the crashed process held his only socket) is here.
        assert "ghost" not in reply["payload"]["members"]
        assert bob.username not in reply["payload"]["members"]
        entries = await stored(room)
        assert "ghost" not in entries and bob.username not in entries

        # Bob comes back on a live process: he is announced and counted once.
        await drain(a)
        await subscribe(b, f"chat:{room}")
        frames = presence_frames(await drain(a, until=lambda f: "joined" in
                                             f.get("payload", {})))
        assert frames == [{"joined": bob.username}]
        assert (await stored(room))[bob.username] == presence._process().id


async def test_a_member_on_another_live_process_stays_until_it_dies(room, settings):
    settings.LIVE_PRESENCE_HEARTBEAT_SECONDS = 0.3
    ttl_ms = int(0.3 * presence.PRESENCE_STALE_PERIODS * 1000)
    _alice, alice_headers = await member_and_headers()
    bob, bob_headers = await member_and_headers()
    # Bob's other tab is on another server process, alive (renewing its key).
    other = await other_process(alive_for_ms=60_000)
    await presence._client().hset(presence.room_key(room), bob.username, other)
    async with open_socket(alice_headers) as a:
        reply = await subscribe(a, f"chat:{room}")
        assert bob.username in reply["payload"]["members"]
        await drain(a)
        # A tab of bob's on this process comes and goes: he never left, nothing is said.
        async with open_socket(bob_headers) as b:
            await subscribe(b, f"chat:{room}")
        assert presence_frames(await drain(a)) == []
        assert (await stored(room))[bob.username] == other

        # The other process renews its key one last time and crashes. Within a few
        # heartbeats this process's heartbeat sweeps bob out and says so.
        await presence._client().set(presence.process_key(other), "1", px=ttl_ms)
        crashed_at = time.monotonic()
        frames = await drain(a, until=lambda f: f.get("payload", {}).get("left")
                             == bob.username, timeout=10)
        took = time.monotonic() - crashed_at
        assert presence_frames(frames) == [{"left": bob.username}]
        assert took < (presence.PRESENCE_STALE_PERIODS + 2) * 0.3 + 2
        assert bob.username not in await stored(room)
        # Alice, on this live process, stays (her process kept renewing its key).
        assert list(await stored(room)) == [_alice.username]


async def test_a_process_taken_for_dead_puts_its_members_back(room, settings):
    """A process stalled past its liveness (its key expired, another process swept its
    entries) re-asserts its own members at its next heartbeat, and says they are back."""
    settings.LIVE_PRESENCE_HEARTBEAT_SECONDS = 0.3
    alice, alice_headers = await member_and_headers()
    _bob, bob_headers = await member_and_headers()
    async with open_socket(alice_headers) as a, open_socket(bob_headers) as b:
        await subscribe(a, f"chat:{room}")
        await subscribe(b, f"chat:{room}")
        await drain(b)
        client = presence._client()
        await client.delete(presence.process_key(presence._process().id))
        await client.delete(presence.room_key(room))

        frames = await drain(b, until=lambda f: "joined" in f.get("payload", {}), timeout=5)
        assert {alice.username, _bob.username} == {
            f["joined"] for f in presence_frames(frames) if "joined" in f}
        assert set(await stored(room)) == {alice.username, _bob.username}


async def test_the_heartbeat_stops_when_the_process_has_no_members(room, settings):
    settings.LIVE_PRESENCE_HEARTBEAT_SECONDS = 0.2
    _alice, headers = await member_and_headers()
    async with open_socket(headers) as a:
        await subscribe(a, f"chat:{room}")
        heartbeat = presence._process().heartbeat
        assert heartbeat is not None and not heartbeat.done()
    await asyncio.sleep(0.6)
    assert heartbeat.done()
    assert presence._process().heartbeat is None
    assert presence._process().rooms == {}


async def test_a_leave_that_did_not_reach_redis_is_corrected_by_the_heartbeat(room, settings):
    """The member's last socket here closed while Redis was unreachable: the leave failed,
    and without a retry they would show as present for as long as this process lives."""
    import socket

    import redis.asyncio as aioredis
    from redis.exceptions import ConnectionError as RedisConnectionError

    settings.LIVE_PRESENCE_HEARTBEAT_SECONDS = 0.2
    await presence.presence_join(room, "alice")
    assert "alice" in await stored(room)

    with socket.socket() as s:  # a port nothing listens on: Redis "down"
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    loop = asyncio.get_running_loop()
    working = presence._clients[loop]
    presence._clients[loop] = aioredis.Redis(host="127.0.0.1", port=dead_port,
                                             socket_connect_timeout=0.5)
    try:
        with pytest.raises(RedisConnectionError):
            await presence.presence_leave(room, "alice")
    finally:
        presence._clients[loop] = working
    assert "alice" in await stored(room)  # the leave never got there

    await presence.presence_heartbeat_once()
    assert "alice" not in await stored(room)
    await asyncio.sleep(0.6)  # nothing left to re-assert: the heartbeat ends
    assert presence._process().heartbeat is None
