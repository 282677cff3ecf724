"""Chat presence across server processes, through the real ASGI stack and the real Redis:
only a member's first socket joining and last socket leaving are announced, coalesced (one
script per room per round, one frame per room per interval); a member with a socket on
another live process stays, and a process that died without disconnecting (its entry left
behind, its liveness key gone) drops out on its own.

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
    await presence._client().delete(presence.room_key(name), presence.touched_key(name),
                                    presence.flush_lock_key(name))


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


def became(frames: list[dict[str, Any]], key: str, name: str) -> bool:
    return any(name in f.get("payload", {}).get(key, []) for f in frames
               if f.get("event") == "chat.presence")


async def until_presence(socket: Any, key: str, name: str, timeout: float = 5
                         ) -> list[dict[str, Any]]:
    """Frames until one says `name` joined (key "joined") or left ("left")."""
    frames: list[dict[str, Any]] = []
    while not became(frames, key, name):
        frames.append(await socket.receive_json_from(timeout=timeout))
    return frames


async def test_only_a_members_first_join_and_last_leave_are_announced(room, settings):
    settings.LIVE_PRESENCE_COALESCE_SECONDS = 0.2
    alice, alice_headers = await member_and_headers()
    bob, bob_headers = await member_and_headers()
    async with open_socket(alice_headers) as a:
        await subscribe(a, f"chat:{room}")
        await until_presence(a, "joined", alice.username)
        async with open_socket(bob_headers) as tab1:
            reply = await subscribe(tab1, f"chat:{room}")
            assert reply["payload"]["members"] == sorted([alice.username, bob.username],
                                                         key=str.lower)
            async with open_socket(bob_headers) as tab2:
                await subscribe(tab2, f"chat:{room}")
                frames = await until_presence(a, "joined", bob.username)
                assert presence_frames(frames) == [{"joined": [bob.username], "left": []}]
            # One of bob's tabs went: he is still here, nothing is said.
            assert presence_frames(await drain(a)) == []
            assert bob.username in await stored(room)
        frames = await until_presence(a, "left", bob.username)
        assert presence_frames(frames) == [{"joined": [], "left": [bob.username]}]
        assert list(await stored(room)) == [alice.username]
    assert await stored(room) == {}


async def test_concurrent_joins_are_one_round_and_one_frame(room, settings):
    """Fifty members arriving together (a restart's reconnect storm) cost one script and
    one presence frame naming them all, not fifty of each."""
    settings.LIVE_PRESENCE_COALESCE_SECONDS = 0.3
    alice, alice_headers = await member_and_headers()
    names = [f"storm{n:02d}-{uuid.uuid4().hex[:6]}" for n in range(50)]
    async with open_socket(alice_headers) as a:
        await subscribe(a, f"chat:{room}")
        await until_presence(a, "joined", alice.username)
        process = presence._process()
        rounds = process.rounds
        lists = await asyncio.gather(*(presence.presence_join(room, n) for n in names))
        assert process.rounds == rounds + 1
        everyone = sorted([alice.username, *names], key=str.lower)
        assert all(members == everyone for members in lists)
        frames = await until_presence(a, "joined", names[-1])
        assert presence_frames(frames) == [{"joined": sorted(names, key=str.lower),
                                            "left": []}]
        assert presence_frames(await drain(a)) == []

        await asyncio.gather(*(presence.presence_leave(room, n) for n in names))
        frames = await until_presence(a, "left", names[0])
        assert presence_frames(frames) == [{"joined": [], "left": sorted(names,
                                                                       key=str.lower)}]
        assert list(await stored(room)) == [alice.username]


async def test_a_member_who_came_and_went_within_one_interval_is_said_to_be_gone(
        room, settings):
    """The frame states each touched member's state at the end of the interval: a page
    whose member list showed bob for that moment is told he left."""
    settings.LIVE_PRESENCE_COALESCE_SECONDS = 0.5
    alice, alice_headers = await member_and_headers()
    async with open_socket(alice_headers) as a:
        await subscribe(a, f"chat:{room}")
        await until_presence(a, "joined", alice.username)
        members = await presence.presence_join(room, "bob")
        assert "bob" in members
        await presence.presence_leave(room, "bob")
        frames = await until_presence(a, "left", "bob")
        assert presence_frames(frames) == [{"joined": [], "left": ["bob"]}]


async def test_a_flush_left_by_a_dead_owner_is_taken_over(room, settings):
    """Another process claimed the room's flush and died before sending it: once its lock
    runs out, this process's heartbeat takes the changes over and announces them."""
    settings.LIVE_PRESENCE_COALESCE_SECONDS = 0.1
    alice, alice_headers = await member_and_headers()
    client = presence._client()
    await client.set(presence.flush_lock_key(room), "dead-owner", px=400)
    async with open_socket(alice_headers) as a:
        await subscribe(a, f"chat:{room}")
        assert presence_frames(await drain(a)) == []  # the dead owner's to send
        assert await client.sismember(presence.touched_key(room), alice.username)
        await asyncio.sleep(0.5)  # its lock runs out
        await presence.presence_heartbeat_once()
        frames = await until_presence(a, "joined", alice.username)
        assert presence_frames(frames) == [{"joined": [alice.username], "left": []}]


async def test_a_dead_processs_entries_are_ignored_and_purged_on_the_next_join(room,
                                                                             settings):
    settings.LIVE_PRESENCE_COALESCE_SECONDS = 0.2
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
        # Whoever read the list while that process lived saw them: they are said to go.
        frames = await until_presence(a, "joined", _alice.username)
        assert presence_frames(frames) == [{"joined": [_alice.username],
                                            "left": sorted([bob.username, "ghost"],
                                                           key=str.lower)}]

        # Bob comes back on a live process: he is announced and counted once.
        await subscribe(b, f"chat:{room}")
        frames = await until_presence(a, "joined", bob.username)
        assert presence_frames(frames) == [{"joined": [bob.username], "left": []}]
        assert (await stored(room))[bob.username] == presence._process().id


async def test_a_member_on_another_live_process_stays_until_it_dies(room, settings):
    settings.LIVE_PRESENCE_HEARTBEAT_SECONDS = 0.3
    settings.LIVE_PRESENCE_COALESCE_SECONDS = 0.1
    ttl_ms = int(0.3 * presence.PRESENCE_STALE_PERIODS * 1000)
    _alice, alice_headers = await member_and_headers()
    bob, bob_headers = await member_and_headers()
    # Bob's other tab is on another server process, alive (renewing its key).
    other = await other_process(alive_for_ms=60_000)
    await presence._client().hset(presence.room_key(room), bob.username, other)
    async with open_socket(alice_headers) as a:
        reply = await subscribe(a, f"chat:{room}")
        assert bob.username in reply["payload"]["members"]
        await until_presence(a, "joined", _alice.username)
        # A tab of bob's on this process comes and goes: he never left, nothing is said.
        async with open_socket(bob_headers) as b:
            await subscribe(b, f"chat:{room}")
        assert presence_frames(await drain(a)) == []
        assert (await stored(room))[bob.username] == other

        # The other process renews its key one last time and crashes. Within a few
        # heartbeats this process's heartbeat sweeps bob out and says so.
        await presence._client().set(presence.process_key(other), "1", px=ttl_ms)
        crashed_at = time.monotonic()
        frames = await until_presence(a, "left", bob.username, timeout=10)
        took = time.monotonic() - crashed_at
        assert presence_frames(frames) == [{"joined": [], "left": [bob.username]}]
        assert took < (presence.PRESENCE_STALE_PERIODS + 2) * 0.3 + 2
        assert bob.username not in await stored(room)
        # Alice, on this live process, stays (her process kept renewing its key).
        assert list(await stored(room)) == [_alice.username]


async def test_a_process_taken_for_dead_puts_its_members_back(room, settings):
    """A process stalled past its liveness (its key expired, another process swept its
    entries) re-asserts its own members at its next heartbeat, and says they are back."""
    settings.LIVE_PRESENCE_HEARTBEAT_SECONDS = 0.3
    settings.LIVE_PRESENCE_COALESCE_SECONDS = 0.1
    alice, alice_headers = await member_and_headers()
    _bob, bob_headers = await member_and_headers()
    async with open_socket(alice_headers) as a, open_socket(bob_headers) as b:
        await subscribe(a, f"chat:{room}")
        await subscribe(b, f"chat:{room}")
        await until_presence(b, "joined", _bob.username)
        await drain(b)
        client = presence._client()
        await client.delete(presence.process_key(presence._process().id))
        await client.delete(presence.room_key(room))

        frames = await until_presence(b, "joined", alice.username)
        assert presence_frames(frames) == [{
            "joined": sorted([alice.username, _bob.username], key=str.lower), "left": []}]
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


async def test_a_watching_socket_sees_the_room_without_entering_it(room, settings):
    """The home page's chat preview subscribes with "watch": it gets the member list and
    the room's events, but its member is not put in the presence list, and its leaving
    says nothing. A watch that is not a boolean is an error frame; the socket stays."""
    settings.LIVE_PRESENCE_COALESCE_SECONDS = 0.2
    alice, alice_headers = await member_and_headers()
    _bob, bob_headers = await member_and_headers()
    async with open_socket(alice_headers) as a:
        await subscribe(a, f"chat:{room}")
        await until_presence(a, "joined", alice.username)
        async with open_socket(bob_headers) as home:
            await home.send_json_to({"type": "subscribe", "stream": f"chat:{room}",
                                     "id": "odd", "payload": {"watch": "yes"}})
            error = await home.receive_json_from(timeout=5)
            assert (error["type"], error["payload"]["code"]) == ("error", "bad_watch"), error
            reply = await subscribe(home, f"chat:{room}", watch=True)
            assert reply["payload"]["members"] == [alice.username]
            # Subscribing again does not turn the watch into a join.
            await subscribe(home, f"chat:{room}", request_id="again")
            assert presence_frames(await drain(a)) == []
            assert list(await stored(room)) == [alice.username]
            await a.send_json_to({"type": "chat.post", "stream": f"chat:{room}", "id": "m",
                                  "payload": {"body": "hello watchers"}})
            frames = await drain(home, until=lambda f: f.get("event") == "chat.message")
            assert [f["payload"]["body"] for f in frames
                    if f.get("event") == "chat.message"] == ["hello watchers"]
        assert presence_frames(await drain(a)) == []
        assert list(await stored(room)) == [alice.username]
