"""Two daphne processes sharing rooms through the real channels-redis (what N processes
behind a proxy are): a message posted through one reaches members on the other, presence
is right across them, and a tab that reconnects to the other process catches up with
nothing lost and nothing twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from consumers import presence
from domain.community.models import ChatRoom
from tests.consumers.servers import Daphne, connect, daphne, frames_until, session_cookie
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Daphne, Daphne]]:
    env = {"LIVE_PRESENCE_COALESCE_SECONDS": "0.2"}
    with daphne(tmp_path / "one.log", **env) as one, daphne(tmp_path / "two.log", **env) as two:
        yield one, two


async def member() -> tuple[Any, str]:
    user = await sync_to_async(make_user)("member")
    return user, await sync_to_async(session_cookie)(user)


async def room() -> str:
    import uuid

    name = f"pair-{uuid.uuid4().hex[:10]}"
    await sync_to_async(ChatRoom.objects.create)(name=name, display_name=name)
    return name


async def subscribe(ws: Any, stream: str, **payload: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "subscribe", "stream": stream, "id": "sub"}
    if payload:
        frame["payload"] = payload
    await ws.send(json.dumps(frame))
    frames = await frames_until(ws, lambda f: f.get("type") in ("subscribed", "error"))
    assert frames[-1]["type"] == "subscribed", frames[-1]
    return frames[-1]


def named(key: str, name: str) -> Any:
    return lambda f: (f.get("event") == "chat.presence"
                      and name in f["payload"].get(key, []))


def message(body: str) -> Any:
    return lambda f: f.get("event") == "chat.message" and f["payload"]["body"] == body


async def test_a_message_and_presence_cross_between_processes(pair):
    one, two = pair
    name = await room()
    alice, alice_cookie = await member()
    bob, bob_cookie = await member()
    a = await connect(one, alice_cookie)
    b = await connect(two, bob_cookie)
    try:
        await subscribe(a, f"chat:{name}")
        await frames_until(a, named("joined", alice.username))
        reply = await subscribe(b, f"chat:{name}")
        # Bob, on the second process, sees alice who joined through the first.
        assert reply["payload"]["members"] == sorted([alice.username, bob.username],
                                                     key=str.lower)
        frames = await frames_until(a, named("joined", bob.username))
        assert [f["payload"]["joined"] for f in frames
                if f.get("event") == "chat.presence"] == [[bob.username]]

        await a.send(json.dumps({"type": "chat.post", "stream": f"chat:{name}", "id": 1,
                                 "payload": {"body": "across"}}))
        got = (await frames_until(b, message("across")))[-1]
        assert got["payload"]["username"] == alice.username
        assert got["stream"] == f"chat:{name}"

        await b.close()
        frames = await frames_until(a, named("left", bob.username))
        assert frames[-1]["payload"] == {"room": name, "joined": [], "left": [bob.username]}
        stored = await presence._client().hgetall(presence.room_key(name))
        assert list(stored) == [alice.username]
    finally:
        await a.close()
        await b.close()


async def test_a_member_with_tabs_on_both_processes_stays_until_the_last_goes(pair):
    one, two = pair
    name = await room()
    _alice, alice_cookie = await member()
    bob, bob_cookie = await member()
    a = await connect(one, alice_cookie)
    tab1 = await connect(one, bob_cookie)
    tab2 = await connect(two, bob_cookie)
    try:
        await subscribe(a, f"chat:{name}")
        await subscribe(tab1, f"chat:{name}")
        await subscribe(tab2, f"chat:{name}")
        await frames_until(a, named("joined", bob.username))
        await tab1.close()
        # Bob's tab on the other process keeps him here: a message then goes out, and
        # the presence frame before it (if any) does not say he left.
        await tab2.send(json.dumps({"type": "chat.post", "stream": f"chat:{name}", "id": 2,
                                    "payload": {"body": "still here"}}))
        frames = await frames_until(a, message("still here"))
        assert not any(named("left", bob.username)(f) for f in frames)
        assert bob.username in await presence._client().hgetall(presence.room_key(name))
        await tab2.close()
        await frames_until(a, named("left", bob.username))
    finally:
        for ws in (a, tab1, tab2):
            await ws.close()


async def test_reconnecting_to_the_other_process_catches_up_once(pair):
    one, two = pair
    name = await room()
    _alice, alice_cookie = await member()
    _bob, bob_cookie = await member()
    a = await connect(one, alice_cookie)
    b = await connect(two, bob_cookie)
    try:
        await subscribe(a, f"chat:{name}")
        await subscribe(b, f"chat:{name}")
        await a.send(json.dumps({"type": "chat.post", "stream": f"chat:{name}", "id": 1,
                                 "payload": {"body": "first"}}))
        first = (await frames_until(b, message("first")))[-1]
        await b.close()
        await a.send(json.dumps({"type": "chat.post", "stream": f"chat:{name}", "id": 2,
                                 "payload": {"body": "while away"}}))
        await frames_until(a, message("while away"))

        # Bob's tab comes back through the first process, as after a restart behind a
        # proxy, with what live.js would send.
        b = await connect(one, bob_cookie)
        have = [f"{first['event_id']}:{first['payload']['id']}"]
        await b.send(json.dumps({"type": "subscribe", "stream": f"chat:{name}", "id": "re",
                                 "payload": {"since": first["event_id"], "have": have}}))
        frames = await frames_until(b, message("while away"))
        await b.send(json.dumps({"type": "ping", "id": "end"}))
        frames += await frames_until(b, lambda f: f.get("type") == "pong")
        bodies = [f["payload"]["body"] for f in frames if f.get("event") == "chat.message"]
        assert bodies == ["while away"]
    finally:
        await a.close()
        await b.close()
