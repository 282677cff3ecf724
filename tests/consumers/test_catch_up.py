"""Catch-up after a reconnect, through the real ASGI stack and the real Redis channel layer:
a change stamped before the last event the page saw but committed after it is replayed,
and nothing the page already holds is sent again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from domain.community import selectors
from domain.community.events import event_id
from domain.community.models import ChatMessage, ChatRoom, Notification
from domain.community.notifications import notification_send
from tests.consumers.sockets import drain, is_event, open_socket, session_headers, subscribe
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)

STREAM = "chat:general"


async def member_and_headers():
    user = await sync_to_async(make_user)("member")
    return user, await sync_to_async(session_headers)(user)


def key(frame: dict[str, Any]) -> str:
    """What live.js records for an event it holds: "<event id>:<item id>"."""
    return f"{frame['event_id']}:{frame['payload']['id']}"


def events(frames: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [f for f in frames if f.get("event") == name]


async def chat_message(user: Any, body: str, at: Any) -> ChatMessage:
    room = await sync_to_async(ChatRoom.objects.get)(name="general")
    return await sync_to_async(ChatMessage.objects.create)(room=room, user=user, body=body,
                                                           created_at=at)


async def replayed_chat(headers: Any, **payload: Any) -> list[dict[str, Any]]:
    """Subscribe to #general with `payload` and collect the replay until it goes quiet."""
    async with open_socket(headers) as s:
        await subscribe(s, STREAM, **payload)
        return events(await drain(s), "chat.message")


async def test_a_message_committed_after_a_later_stamped_one_is_not_missed():
    alice, headers = await member_and_headers()
    t2 = timezone.now()
    # Seen long ago (outside the replay window): the page has it and must not get it again.
    await chat_message(alice, "old", t2 - timedelta(minutes=5))
    # Transaction B stamps t2 and commits; the page sees it.
    await chat_message(alice, "B", t2)
    async with open_socket(headers) as s:
        await subscribe(s, STREAM)
        seen = events(await drain(s, until=lambda f: f.get("payload", {}).get("body") == "B"),
                      "chat.message")
    assert [f["payload"]["body"] for f in seen] == ["old", "B"]
    b = seen[-1]
    # Transaction A stamped t1 < t2 but commits only now, after the page went away.
    await chat_message(alice, "A", t2 - timedelta(seconds=2))

    replayed = await replayed_chat(headers, since=b["event_id"], have=[key(b)])

    assert [f["payload"]["body"] for f in replayed] == ["A"]
    assert replayed[0]["event_id"] < b["event_id"]


async def test_without_have_the_window_is_replayed_and_the_last_id_alone_would_miss_it():
    """The same rows, the page naming nothing it holds: the window comes again whole
    (so `have` is what keeps duplicates out), and the row stamped before `since` is in it."""
    alice, headers = await member_and_headers()
    t2 = timezone.now()
    b = await chat_message(alice, "B", t2)
    await chat_message(alice, "A", t2 - timedelta(seconds=2))

    replayed = await replayed_chat(headers, since=event_id(b.created_at))

    assert [f["payload"]["body"] for f in replayed] == ["A", "B"]


async def test_nothing_the_page_holds_is_sent_again_but_a_later_edit_is():
    _alice, headers = await member_and_headers()
    async with open_socket(headers) as s:
        await subscribe(s, STREAM)
        await drain(s)
        live: list[dict[str, Any]] = []
        for n, body in enumerate(("first", "second")):
            await s.send_json_to({"type": "chat.post", "stream": STREAM, "id": n,
                                  "payload": {"body": body}})
            frames = await drain(s, until=is_event("chat.message"))
            live += events(frames, "chat.message")
    # The page holds both, as it got them live (keys built from the frames).
    assert [f["payload"]["body"] for f in live] == ["first", "second"]
    have = [key(f) for f in live]
    last = max(f["event_id"] for f in live)

    assert await replayed_chat(headers, since=last, have=have) == []

    # Edited while the page was away: a new event of a held item comes, once.
    first = await sync_to_async(ChatMessage.objects.get)(id=live[0]["payload"]["id"])

    def edit() -> None:
        first.body, first.edited_at = "first, edited", timezone.now()
        first.save(update_fields=["body", "edited_at"])

    await sync_to_async(edit)()
    replayed = await replayed_chat(headers, since=last, have=have)
    assert [(f["payload"]["id"], f["payload"]["body"]) for f in replayed] == [
        (str(first.id), "first, edited")]


async def test_have_entries_do_not_use_up_the_replay_limit(monkeypatch):
    alice, headers = await member_and_headers()
    monkeypatch.setattr(selectors, "REPLAY_LIMIT", 5)
    now = timezone.now()
    held = [await chat_message(alice, f"held {n}", now - timedelta(seconds=4 - n / 10))
            for n in range(4)]
    have = [f"{event_id(m.created_at)}:{m.id}" for m in held]
    for n in range(3):
        await chat_message(alice, f"new {n}", now + timedelta(milliseconds=n))

    replayed = await replayed_chat(headers, since=event_id(held[-1].created_at), have=have)

    assert [f["payload"]["body"] for f in replayed] == ["new 0", "new 1", "new 2"]


async def test_a_notification_committed_out_of_order_is_caught_up_once():
    member, headers = await member_and_headers()
    t2 = timezone.now()
    await sync_to_async(Notification.objects.create)(user=member, kind="system", title="B",
                                                     created_at=t2)
    async with open_socket(headers) as s:
        await subscribe(s, "notifications", since="00000000000000000")
        seen = events(await drain(s, until=is_event("notification.new")), "notification.new")
    assert [f["payload"]["title"] for f in seen] == ["B"]
    await sync_to_async(Notification.objects.create)(
        user=member, kind="system", title="A", created_at=t2 - timedelta(seconds=1))

    async with open_socket(headers) as s:
        await subscribe(s, "notifications", since=seen[0]["event_id"], have=[key(seen[0])])
        replayed = events(await drain(s, until=is_event("notification.new")),
                          "notification.new")

    assert [f["payload"]["title"] for f in replayed] == ["A"]
    assert replayed[0]["payload"]["unread"] == 2


async def test_a_stream_with_no_events_yet_catches_up_from_the_subscribe_position():
    """The subscribe reply names the stream's position: a page that saw no event yet
    resubscribes from it and gets what came while it was away."""
    member, headers = await member_and_headers()
    async with open_socket(headers) as s:
        reply = await subscribe(s, "notifications")
    position = reply["event_id"]
    assert len(position) == 17 and position <= event_id(timezone.now())

    def notify() -> None:
        with transaction.atomic():
            notification_send(user_id=member.id, kind="system", title="while away")

    await sync_to_async(notify)()
    async with open_socket(headers) as s:
        await subscribe(s, "notifications", since=position)
        replayed = events(await drain(s, until=is_event("notification.new")),
                          "notification.new")
    assert [f["payload"]["title"] for f in replayed] == ["while away"]

