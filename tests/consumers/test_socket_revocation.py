"""Losing access reaches open sockets at once (issues 12.1 and 19.2): a class or status
change publishes access.changed and every open socket of the member asks the access rules
again for each stream it follows, leaves the ones now refused and tells the page
(`unsubscribed`, with a reason); a member who is no longer active loses the socket; a topic
moved into a forum a follower may not read is left by that follower; and moderation events
go only to the sockets whose member may work them. Through the real ASGI stack and the
Redis channel layer, and once through daphne. Gates edited in the admin (a chat room's, a
forum's) reach the sockets the same way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from consumers.live import CLOSE_UNAUTHORIZED
from domain.accounts.models import UserGroup, UserStatus
from domain.accounts.services import user_group_set, user_status_set
from domain.community.models import Forum
from domain.community.services import forum_topic_create, forum_topic_moderate
from domain.events import ModerationItem, ModerationReport, publish
from tests.consumers.servers import connect, daphne, frames_until, session_cookie
from tests.consumers.sockets import drain, next_frame, open_socket, subscribe
from tests.consumers.test_streams import assert_alive, user_and_headers
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def _demote(sysop, user, group_name: str = "member") -> None:
    user_group_set(actor=sysop, user=user, group=UserGroup.objects.get(name=group_name),
                   reason="Stepped down.")


def _publish_moderation(kind: str, n: int) -> None:
    with transaction.atomic():
        if kind == "report":
            publish(ModerationReport(payload={  # type: ignore[typeddict-item]
                "kind": "report", "id": f"r{n}", "event_id": None}))
        else:
            publish(ModerationItem(payload={"kind": "queue", "id": f"q{n}"}))


def _frames_of(frames: list[dict], kind: str) -> list[dict]:
    return [f for f in frames if f.get("type") == kind]


async def test_a_demoted_moderator_loses_the_moderation_stream_and_staff_chat_at_once():
    sysop = await sync_to_async(make_user)("sysop")
    mod, headers = await user_and_headers("moderator")
    async with open_socket(headers) as socket:
        await subscribe(socket, "moderation")
        await subscribe(socket, "chat:staff", request_id="staff")
        await subscribe(socket, "chat:general", request_id="general")
        await drain(socket)

        await sync_to_async(_demote)(sysop, mod)

        frames = await drain(socket, until=lambda f: f.get("event") == "access.changed")
        gone = {f["stream"]: f["payload"] for f in _frames_of(frames, "unsubscribed")}
        assert set(gone) == {"moderation", "chat:staff"}
        assert all(p["reason"] == "group" for p in gone.values())
        assert gone["moderation"]["code"] == "forbidden"
        await assert_alive(socket)

        # Nothing of the moderation stream arrives any more; general chat still does.
        await sync_to_async(_publish_moderation)("report", 1)
        await socket.send_json_to({"type": "chat.post", "stream": "chat:general", "id": 9,
                                   "payload": {"body": "still here"}})
        frames = await drain(socket, until=lambda f: f.get("event") == "chat.message")
        assert not [f for f in frames if f.get("stream") == "moderation"]
        # And following it again is refused.
        await socket.send_json_to({"type": "subscribe", "stream": "moderation", "id": "x"})
        reply = await next_frame(socket)
        assert reply["type"] == "error" and reply["id"] == "x"


async def test_every_socket_of_a_disabled_member_closes():
    sysop = await sync_to_async(make_user)("sysop")
    member, headers = await user_and_headers("member")
    async with open_socket(headers) as one, open_socket(headers) as two:
        await subscribe(one, "chat:general")
        await sync_to_async(user_status_set)(actor=sysop, user=member,
                                             status=UserStatus.DISABLED)
        for socket in (one, two):
            while True:
                output = await socket.receive_output(10)
                if output["type"] == "websocket.close":
                    break
            assert output == {"type": "websocket.close", "code": CLOSE_UNAUTHORIZED}


async def test_a_promotion_keeps_every_stream_and_tells_the_page():
    sysop = await sync_to_async(make_user)("sysop")
    member, headers = await user_and_headers("member")
    async with open_socket(headers) as socket:
        await subscribe(socket, "chat:general")
        await drain(socket)
        await sync_to_async(_demote)(sysop, member, "vip")
        frames = await drain(socket, until=lambda f: f.get("event") == "access.changed")
        assert _frames_of(frames, "unsubscribed") == []
        # The new class opens the VIP room on the same socket.
        await subscribe(socket, "chat:vip", request_id="vip")


def _topic(author) -> str:
    forum = Forum.objects.get(slug="general")
    return str(forum_topic_create(user=author, forum_id=forum.id, title="Moving soon",
                                  body="Where will this go?").id)


def _move_to_staff(moderator, topic_id: str) -> None:
    forum_topic_moderate(actor=moderator, topic_id=topic_id, action="move",
                         to_forum_id=Forum.objects.get(slug="staff").id)


async def test_a_topic_moved_to_a_staff_forum_is_left_by_members_and_kept_by_staff():
    member, member_headers = await user_and_headers("member")
    mod, mod_headers = await user_and_headers("moderator")
    topic_id = await sync_to_async(_topic)(member)
    stream = f"forum:{topic_id}"
    async with open_socket(member_headers) as m, open_socket(mod_headers) as s:
        await subscribe(m, stream)
        await subscribe(s, stream)
        await drain(m)
        await drain(s)

        await sync_to_async(_move_to_staff)(mod, topic_id)

        frames = await drain(m, until=lambda f: f.get("type") == "unsubscribed")
        (left,) = _frames_of(frames, "unsubscribed")
        assert left["stream"] == stream and left["payload"]["reason"] == "moved"
        await assert_alive(m)
        staff_frames = await drain(s, until=lambda f: f.get("event") == "forum.topic")
        assert _frames_of(staff_frames, "unsubscribed") == []
        # The moderator still follows it: a new post there reaches them, not the member.
        await s.send_json_to({"type": "forum.post", "stream": stream, "id": 1,
                              "payload": {"body": "Staff only now."}})
        got = await drain(s, until=lambda f: f.get("event") == "forum.post")
        assert any(f.get("event") == "forum.post" for f in got)
        assert not [f for f in await drain(m) if f.get("event") == "forum.post"]


async def test_moderation_events_reach_only_those_who_may_work_them():
    # Forum moderators handle reports but not the queue; moderators both.
    _fm, fm_headers = await user_and_headers("forum_moderator")
    _mod, mod_headers = await user_and_headers("moderator")
    async with open_socket(fm_headers) as fm, open_socket(mod_headers) as mod:
        assert (await subscribe(fm, "moderation"))["payload"]["queue"] == []
        await subscribe(mod, "moderation")
        await sync_to_async(_publish_moderation)("queue", 1)
        await sync_to_async(_publish_moderation)("report", 2)

        got_mod = await drain(mod, until=lambda f: f.get("payload", {}).get("id") == "r2")
        assert [f["payload"]["id"] for f in got_mod if f.get("stream") == "moderation"] == [
            "q1", "r2"]
        got_fm = await drain(fm, until=lambda f: f.get("payload", {}).get("id") == "r2")
        assert [f["payload"]["id"] for f in got_fm if f.get("stream") == "moderation"] == [
            "r2"]


async def test_a_demotion_reaches_a_socket_served_by_daphne(tmp_path: Path):
    sysop = await sync_to_async(make_user)("sysop")
    mod = await sync_to_async(make_user)("moderator")
    cookie = await sync_to_async(session_cookie)(mod)
    with daphne(tmp_path / "daphne.log") as server:
        ws = await connect(server, cookie)
        try:
            await ws.send(json.dumps({"type": "subscribe", "stream": "moderation", "id": 1}))
            await frames_until(ws, lambda f: f.get("type") == "subscribed")
            await sync_to_async(_demote)(sysop, mod)
            frames = await frames_until(ws, lambda f: f.get("event") == "access.changed")
            assert [(f["stream"], f["payload"]["reason"]) for f in frames
                    if f.get("type") == "unsubscribed"] == [("moderation", "group")]
            await sync_to_async(_publish_moderation)("report", 3)
            await ws.send(json.dumps({"type": "ping", "id": "end"}))
            tail = await frames_until(ws, lambda f: f.get("type") == "pong")
            assert [f for f in tail if f.get("stream") == "moderation"] == []
        finally:
            await ws.close()


def _admin_raise_room_gate(sysop, room_name: str, min_rank: int) -> int:
    from django.test import Client
    from django.urls import reverse

    from domain.community.models import ChatRoom
    from tests.admin.forms import admin_form_data

    client = Client()
    client.force_login(sysop)
    room = ChatRoom.objects.get(name=room_name)
    url = reverse("admin:community_chatroom_change", args=(room.pk,))
    page: Any = client.get(url)
    data = admin_form_data(page, "chatroom")
    data["min_rank"] = [str(min_rank)]
    return client.post(url, data).status_code


async def test_a_room_closed_to_a_members_class_in_admin_is_left_by_their_socket():
    from domain.community.models import ChatRoom

    sysop = await sync_to_async(make_user)("sysop")
    _member, headers = await user_and_headers("member")
    _vip, vip_headers = await user_and_headers("vip")
    name = "gate-test"
    await sync_to_async(ChatRoom.objects.create)(name=name, display_name="Gate test")
    async with open_socket(headers) as m, open_socket(vip_headers) as v:
        await subscribe(m, f"chat:{name}")
        await subscribe(v, f"chat:{name}")
        await drain(m)
        await drain(v)
        assert await sync_to_async(_admin_raise_room_gate)(sysop, name, 500) == 302
        frames = await drain(m, until=lambda f: f.get("type") == "unsubscribed")
        (left,) = _frames_of(frames, "unsubscribed")
        assert left["stream"] == f"chat:{name}" and left["payload"]["reason"] == "settings"
        await assert_alive(m)
        assert _frames_of(await drain(v), "unsubscribed") == []


def _admin_raise_forum_gate(sysop, slug: str, min_rank: int) -> int:
    from django.test import Client
    from django.urls import reverse

    from tests.admin.forms import admin_form_data

    client = Client()
    client.force_login(sysop)
    url = reverse("admin:community_forum_change", args=(Forum.objects.get(slug=slug).pk,))
    page: Any = client.get(url)
    data = admin_form_data(page, "forum")
    for field in ("min_rank_read", "min_rank_write", "min_rank_create_topic"):
        data[field] = [str(min_rank)]
    return client.post(url, data).status_code


async def test_a_forum_closed_to_a_members_class_in_admin_is_left_on_each_topic():
    sysop = await sync_to_async(make_user)("sysop")
    member, headers = await user_and_headers("member")
    topic_id = await sync_to_async(_topic)(member)
    async with open_socket(headers) as m:
        await subscribe(m, f"forum:{topic_id}")
        await drain(m)
        assert await sync_to_async(_admin_raise_forum_gate)(sysop, "general", 500) == 302
        frames = await drain(m, until=lambda f: f.get("type") == "unsubscribed")
        (left,) = _frames_of(frames, "unsubscribed")
        assert left["stream"] == f"forum:{topic_id}"
        assert left["payload"]["reason"] == "settings"


def _admin_take_permission(sysop, group_name: str, perm: str) -> int:
    from django.test import Client
    from django.urls import reverse

    from tests.admin.forms import admin_form_data

    client = Client()
    client.force_login(sysop)
    group = UserGroup.objects.get(name=group_name)
    url = reverse("admin:accounts_usergroup_change", args=(group.pk,))
    page: Any = client.get(url)
    data = admin_form_data(page, "usergroup")
    data["permissions"] = [p for p in data["permissions"] if p != perm]
    return client.post(url, data).status_code


async def test_a_permission_taken_from_a_class_in_admin_ends_the_streams_it_opened():
    sysop = await sync_to_async(make_user)("sysop")
    _fm, headers = await user_and_headers("forum_moderator")
    async with open_socket(headers) as socket:
        await subscribe(socket, "moderation")
        await subscribe(socket, "chat:staff", request_id="staff")
        await drain(socket)
        status = await sync_to_async(_admin_take_permission)(sysop, "forum_moderator",
                                                             "reports_handle")
        assert status == 302
        frames = await drain(socket, until=lambda f: f.get("event") == "access.changed")
        assert [f["stream"] for f in _frames_of(frames, "unsubscribed")] == ["moderation"]
        await assert_alive(socket)
