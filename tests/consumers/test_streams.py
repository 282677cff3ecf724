"""Streams over the one socket, through the real ASGI stack and the real Redis channel
layer: chat between members, PMs to every tab, forum posts to subscribers, the moderation
feed, forbidden subscriptions, catch-up after a reconnect, and bad or too fast frames."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from consumers.live import CLOSE_UNAUTHORIZED
from domain.accounts.models import UserStatus
from domain.community.models import (
    ChatMessage,
    ChatRoom,
    Forum,
    ForumSubscription,
    MemberBlock,
    Notification,
    PrivateMessage,
)
from domain.community.services import forum_post_create, forum_topic_create, pm_send
from domain.events import (
    ModerationItem,
    chat_room_group,
    publish,
    torrent_group,
    user_group,
)
from domain.moderation.models import AuditLog, ModerationQueueItem
from tests.consumers.sockets import (
    drain,
    is_event,
    is_type,
    next_frame,
    open_socket,
    session_headers,
    subscribe,
)
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


async def user_and_headers(persona: str = "member"):
    user = await sync_to_async(make_user)(persona)
    return user, await sync_to_async(session_headers)(user)


async def error_of(socket, frame: dict) -> dict:
    await socket.send_json_to(frame)
    reply = await next_frame(socket)
    assert reply["type"] == "error", reply
    return reply


async def assert_alive(socket) -> None:
    await socket.send_json_to({"type": "ping", "id": "alive"})
    assert await next_frame(socket) == {"type": "pong", "id": "alive"}


async def group_size(group: str) -> int:
    layer = get_channel_layer()
    connection = layer.connection(layer.consistent_hash(group))
    return await connection.zcard(layer._group_key(group))


async def test_two_members_chat_and_the_process_joins_the_room_once():
    alice, alice_headers = await user_and_headers()
    bob, bob_headers = await user_and_headers()
    # Relative counts: the Redis server is shared with other test runs.
    before = await group_size(chat_room_group("general"))
    async with open_socket(alice_headers) as a, open_socket(bob_headers) as b:
        await subscribe(a, "chat:general")
        await subscribe(b, "chat:general")
        await drain(a)
        await drain(b)
        # Two local sockets, one channel-layer member: the process receives each event once.
        assert await group_size(chat_room_group("general")) == before + 1

        await a.send_json_to({"type": "chat.post", "stream": "chat:general", "id": 1,
                              "payload": {"body": "<b>hi</b> @" + bob.username}})
        got_a = await drain(a, until=is_event("chat.message"))
        if not any(f["type"] == "ok" for f in got_a):
            got_a += await drain(a, until=is_type("ok"))
        got_b = await drain(b, until=is_event("chat.message"))
        if not any(f["type"] == "notification" for f in got_b):
            got_b += await drain(b, until=is_type("notification"))

    ok = next(f for f in got_a if f["type"] == "ok")
    assert ok["id"] == 1
    frames = {"a": [f for f in got_a if f.get("event") == "chat.message"],
              "b": [f for f in got_b if f.get("event") == "chat.message"]}
    for found in frames.values():
        assert len(found) == 1
        frame = found[0]
        assert frame["stream"] == "chat:general"
        assert frame["payload"]["username"] == alice.username
        # Text travels as text; the page inserts it with textContent.
        assert frame["payload"]["body"] == "<b>hi</b> @" + bob.username
        assert frame["event_id"] == frame["payload"]["event_id"]
    assert [f["payload"]["kind"] for f in got_b if f["type"] == "notification"] == ["mention"]
    message = await sync_to_async(ChatMessage.objects.get)(id=ok["payload"]["id"])
    assert message.user_id == alice.id
    assert message.mentions == [bob.id]
    mention = await sync_to_async(Notification.objects.get)(user=bob)
    assert mention.kind == "mention"
    assert await group_size(chat_room_group("general")) == before  # left with the last socket


async def test_history_presence_and_edit_delete_own():
    alice, alice_headers = await user_and_headers()
    room = await sync_to_async(ChatRoom.objects.get)(name="general")
    for n in range(3):
        await sync_to_async(ChatMessage.objects.create)(room=room, user=alice, body=f"old {n}")
    async with open_socket(alice_headers) as a:
        reply = await subscribe(a, "chat:general")
        assert alice.username in reply["payload"]["members"]
        history = [f for f in await drain(a, until=lambda f: f.get("payload", {}).get("body")
                                           == "old 2") if f.get("event") == "chat.message"]
        assert [f["payload"]["body"] for f in history] == ["old 0", "old 1", "old 2"]

        target = history[0]["payload"]["id"]
        await a.send_json_to({"type": "chat.edit", "stream": "chat:general", "id": 2,
                              "payload": {"message_id": target, "body": "edited"}})
        frames = await drain(a, until=is_event("chat.message"))
        edited = next(f for f in frames if f.get("event") == "chat.message")
        assert edited["payload"]["edited"] is True and edited["payload"]["body"] == "edited"

        await a.send_json_to({"type": "chat.delete", "stream": "chat:general", "id": 3,
                              "payload": {"message_id": target}})
        frames = await drain(a, until=is_event("chat.message"))
        deleted = next(f for f in frames if f.get("event") == "chat.message")
        assert deleted["payload"]["deleted"] is True and deleted["payload"]["body"] == ""


async def test_history_pages_back_by_the_oldest_message_even_after_edits():
    alice, alice_headers = await user_and_headers()
    room = await sync_to_async(ChatRoom.objects.get)(name="general")
    made = [await sync_to_async(ChatMessage.objects.create)(room=room, user=alice,
                                                            body=f"m{n}") for n in range(4)]
    async with open_socket(alice_headers) as a:
        await subscribe(a, "chat:general")
        await drain(a, until=lambda f: f.get("payload", {}).get("body") == "m3")
        # An edit moves m0's event id past the others; the cursor is by creation.
        await a.send_json_to({"type": "chat.edit", "stream": "chat:general", "id": 1,
                              "payload": {"message_id": str(made[0].id), "body": "m0 again"}})
        await drain(a, until=is_type("ok"))
        await a.send_json_to({"type": "chat.history", "stream": "chat:general", "id": 2,
                              "payload": {"before_id": str(made[2].id)}})
        page = next(f for f in await drain(a, until=is_type("history"))
                    if f["type"] == "history")
        assert [i["body"] for i in page["payload"]["items"]] == ["m0 again", "m1"]
        await a.send_json_to({"type": "chat.history", "stream": "chat:general", "id": 3,
                              "payload": {"before_id": str(made[0].id)}})
        page = next(f for f in await drain(a, until=is_type("history"))
                    if f["type"] == "history")
        assert page["payload"]["items"] == []
        error = await error_of(a, {"type": "chat.history", "stream": "chat:general", "id": 4,
                                   "payload": {"before_id": 7}})
        assert error["payload"]["code"] == "bad_before"


async def test_a_member_cannot_edit_or_delete_someone_elses_message():
    _alice, alice_headers = await user_and_headers()
    bob = await sync_to_async(make_user)("member")
    room = await sync_to_async(ChatRoom.objects.get)(name="general")
    message = await sync_to_async(ChatMessage.objects.create)(room=room, user=bob, body="mine")
    async with open_socket(alice_headers) as a:
        err = await error_of(a, {"type": "chat.edit", "stream": "chat:general", "id": 1,
                                 "payload": {"message_id": str(message.id), "body": "x"}})
        assert err["payload"]["code"] == "forbidden" and err["id"] == 1
        err = await error_of(a, {"type": "chat.delete", "stream": "chat:general", "id": 2,
                                 "payload": {"message_id": str(message.id)}})
        assert err["payload"]["code"] == "forbidden"
        await assert_alive(a)
    await sync_to_async(message.refresh_from_db)()
    assert message.body == "mine" and message.deleted_at is None


async def test_moderator_deletes_and_mutes_with_an_audit_row():
    mod, mod_headers = await user_and_headers("moderator")
    bob, bob_headers = await user_and_headers()
    room = await sync_to_async(ChatRoom.objects.get)(name="general")
    message = await sync_to_async(ChatMessage.objects.create)(room=room, user=bob, body="spam")
    async with open_socket(mod_headers) as m, open_socket(bob_headers) as b:
        await subscribe(m, "chat:general")
        await m.send_json_to({"type": "chat.delete", "stream": "chat:general", "id": 1,
                              "payload": {"message_id": str(message.id)}})
        await m.send_json_to({"type": "chat.mute", "stream": "chat:general", "id": 2,
                              "payload": {"username": bob.username, "minutes": 10}})
        frames = await drain(m, until=lambda f: f["type"] == "ok" and f["id"] == 2)
        assert {f["id"] for f in frames if f["type"] == "ok"} == {1, 2}

        err = await error_of(b, {"type": "chat.post", "stream": "chat:general", "id": 3,
                                 "payload": {"body": "let me talk"}})
        assert err["payload"]["code"] == "muted"
    actions = await sync_to_async(lambda: sorted(
        AuditLog.objects.filter(actor=mod).values_list("action", flat=True)))()
    assert actions == ["chat.member_mute", "chat.message_delete"]
    assert await sync_to_async(ChatMessage.objects.filter(user=bob, deleted_at=None).count)() == 0


async def test_a_pm_reaches_every_tab_of_the_recipient():
    sender = await sync_to_async(make_user)("member")
    recipient, headers = await user_and_headers()
    async with open_socket(headers) as tab1, open_socket(headers) as tab2:
        await subscribe(tab1, "inbox")

        def send() -> PrivateMessage:
            with transaction.atomic():
                return pm_send(sender=sender, recipient_username=recipient.username,
                               subject="Hello", body="<script>x</script>")

        message = await sync_to_async(send)()
        for tab in (tab1, tab2):
            frames = await drain(tab, until=is_event("pm.new"))
            if not any(f["type"] == "notification" for f in frames):
                frames += await drain(tab, until=is_type("notification"))
            pm = next(f for f in frames if f.get("event") == "pm.new")
            assert pm["stream"] == "inbox"
            assert pm["payload"]["id"] == str(message.id)
            assert pm["payload"]["unread"] == 1
            assert pm["payload"]["sender"] == sender.username
            note = next(f for f in frames if f["type"] == "notification")
            assert note["payload"]["kind"] == "private_message"


async def test_a_forum_post_notifies_subscribers_and_appears_to_readers():
    author = await sync_to_async(make_user)("member")
    subscriber, sub_headers = await user_and_headers()
    _reader, reader_headers = await user_and_headers()

    def setup():
        forum = Forum.objects.get(slug="general")
        topic = forum_topic_create(user=author, forum_id=forum.id, title="Seeding tips",
                                   body="First post")
        ForumSubscription.objects.create(user=subscriber, topic=topic)
        return topic

    topic = await sync_to_async(setup)()
    async with open_socket(sub_headers) as s, open_socket(reader_headers) as r:
        await subscribe(r, f"forum:{topic.id}")

        def reply():
            with transaction.atomic():
                return forum_post_create(user=author, topic_id=topic.id, body="Second post")

        post = await sync_to_async(reply)()
        note = await next_frame(s)
        live = await next_frame(r)

    assert note["type"] == "notification"
    assert note["payload"]["kind"] == "forum_reply"
    assert f"#post-{post.id}" in note["payload"]["url"]
    assert live["event"] == "forum.post" and live["payload"]["body"] == "Second post"


async def test_a_moderator_sees_a_queue_item_appear_and_claims_it():
    mod, headers = await user_and_headers("moderator")
    _other_mod, other_headers = await user_and_headers("moderator")
    async with open_socket(headers) as m, open_socket(other_headers) as o:
        snapshot = await subscribe(m, "moderation")
        assert snapshot["payload"]["queue"] == []
        await subscribe(o, "moderation")

        def submit():
            from domain.base import TargetType

            with transaction.atomic():
                item = ModerationQueueItem.objects.create(
                    target_type=TargetType.TORRENT,
                    target_id="00000000-0000-4000-8000-000000000001",
                    source="new_upload", summary="A.New.Upload")
                publish(ModerationItem(payload={"id": str(item.id),
                                                "summary": item.summary}))
            return item

        item = await sync_to_async(submit)()
        appeared = await next_frame(m)
        assert appeared["event"] == "moderation.item"
        assert appeared["payload"]["summary"] == "A.New.Upload"
        await next_frame(o)

        await m.send_json_to({"type": "moderation.claim", "id": 9,
                              "payload": {"kind": "queue", "id": str(item.id)}})
        await drain(m, until=lambda f: f["type"] == "ok" and f["id"] == 9)
        claimed = await next_frame(o)
        assert claimed["event"] == "moderation.claimed"
        assert claimed["payload"]["claimed_by"] == mod.username

        err = await error_of(o, {"type": "moderation.claim", "id": 10,
                                 "payload": {"kind": "queue", "id": str(item.id)}})
        assert err["payload"]["code"] == "already_claimed"
    await sync_to_async(item.refresh_from_db)()
    assert item.status == "claimed" and item.claimed_by_id == mod.id


async def test_forbidden_subscriptions_are_refused_and_the_socket_stays_open():
    _member, headers = await user_and_headers()

    def staff_topic():
        mod = make_user("moderator")
        return forum_topic_create(user=mod, forum_id=Forum.objects.get(slug="staff").id,
                                  title="Staff only", body="secret")

    topic = await sync_to_async(staff_topic)()
    before = await group_size(chat_room_group("staff"))
    async with open_socket(headers) as s:
        for stream, code in [("chat:staff", "not_found"), ("chat:vip", "not_found"),
                             ("chat:nope", "not_found"), (f"forum:{topic.id}", "not_found"),
                             ("moderation", "forbidden"),
                             ("torrent:00000000-0000-4000-8000-000000000009", "not_found")]:
            err = await error_of(s, {"type": "subscribe", "stream": stream, "id": stream})
            assert err["payload"]["code"] == code, stream
            assert err["id"] == stream
        err = await error_of(s, {"type": "chat.post", "stream": "chat:staff", "id": 1,
                                 "payload": {"body": "let me in"}})
        assert err["payload"]["code"] == "not_found"
        await assert_alive(s)
    assert await group_size(chat_room_group("staff")) == before
    assert await sync_to_async(ChatMessage.objects.count)() == 0


async def test_vip_may_join_the_vip_room():
    _vip, headers = await user_and_headers("vip")
    async with open_socket(headers) as s:
        reply = await subscribe(s, "chat:vip")
        assert reply["payload"]["room"] == "vip"


async def test_catch_up_replays_only_what_was_missed():
    alice, headers = await user_and_headers()
    room = await sync_to_async(ChatRoom.objects.get)(name="general")
    await sync_to_async(ChatMessage.objects.create)(room=room, user=alice, body="seen")
    async with open_socket(headers) as s:
        await subscribe(s, "chat:general")
        seen = [f for f in await drain(s, until=is_event("chat.message"))
                if f.get("event") == "chat.message"]
        last_id = seen[-1]["event_id"]
    # Offline: two messages arrive.
    for body in ("missed 1", "missed 2"):
        await sync_to_async(ChatMessage.objects.create)(room=room, user=alice, body=body)
    async with open_socket(headers) as s:
        # The page names what it holds from the replay window, as live.js does.
        await subscribe(s, "chat:general", since=last_id,
                        have=[f"{last_id}:{seen[-1]['payload']['id']}"])
        replayed = [f for f in await drain(s, until=lambda f: f.get("payload", {}).get("body")
                                           == "missed 2") if f.get("event") == "chat.message"]
    assert [f["payload"]["body"] for f in replayed] == ["missed 1", "missed 2"]
    assert all(f["event_id"] > last_id for f in replayed)


async def test_notifications_catch_up_and_mark_read_updates_every_tab():
    member, headers = await user_and_headers()
    from domain.community.notifications import notification_send

    async with open_socket(headers) as s:
        await subscribe(s, "notifications")
        reply = await subscribe(s, "notifications", request_id="again",
                                since="00000000000000000")
        assert reply["payload"]["unread"] == 0

    def notify(title: str):
        with transaction.atomic():
            return notification_send(user_id=member.id, kind="system", title=title)

    await sync_to_async(notify)("one")
    async with open_socket(headers) as s, open_socket(headers) as other:
        await subscribe(s, "notifications", since="00000000000000000")
        replayed = await drain(s, until=is_event("notification.new"))
        assert [f["payload"]["title"] for f in replayed] == ["one"]

        await s.send_json_to({"type": "notifications.read", "id": 4})
        for tab in (s, other):
            frames = await drain(tab, until=is_event("notification.read"))
            read = next(f for f in frames if f.get("event") == "notification.read")
            assert read["payload"]["unread"] == 0
    assert await sync_to_async(
        Notification.objects.filter(user=member, read_at=None).count)() == 0


async def test_blocked_members_chat_is_not_shown():
    alice, alice_headers = await user_and_headers()
    troll, troll_headers = await user_and_headers()
    await sync_to_async(MemberBlock.objects.create)(user=alice, blocked=troll)
    async with open_socket(alice_headers) as a, open_socket(troll_headers) as t:
        await subscribe(a, "chat:general")
        await subscribe(t, "chat:general")
        await drain(a)
        await t.send_json_to({"type": "chat.post", "stream": "chat:general", "id": 1,
                              "payload": {"body": "you will not see this"}})
        own = [f for f in await drain(t, until=is_event("chat.message"))
               if f.get("event") == "chat.message"]
        frames = await drain(a)
    assert [f["payload"]["body"] for f in own] == ["you will not see this"]
    assert not [f for f in frames if f.get("event") == "chat.message"]


async def test_flood_and_length_limits_give_errors_and_write_nothing_extra(settings):
    settings.COMMUNITY_CHAT_BURST = 3
    settings.COMMUNITY_CHAT_BURST_SECONDS = 60
    alice, headers = await user_and_headers()
    async with open_socket(headers) as s:
        await subscribe(s, "chat:general")
        await drain(s)
        err = await error_of(s, {"type": "chat.post", "stream": "chat:general", "id": "long",
                                 "payload": {"body": "x" * 1001}})
        assert err["payload"]["code"] == "too_long"
        codes = []
        for n in range(5):
            await s.send_json_to({"type": "chat.post", "stream": "chat:general", "id": n,
                                  "payload": {"body": f"flood {n}"}})
        for f in await drain(s, until=lambda f: f.get("id") == 4 and f["type"] in ("ok", "error")):
            if f["type"] in ("ok", "error"):
                codes.append(f["payload"].get("code", "ok"))
        assert codes == ["ok", "ok", "ok", "rate_limited", "rate_limited"]
        await assert_alive(s)
    assert await sync_to_async(ChatMessage.objects.filter(user=alice).count)() == 3


async def test_too_many_frames_get_an_error_and_the_socket_recovers(settings):
    settings.LIVE_FRAME_BURST = 10
    settings.LIVE_FRAMES_PER_SECOND = 20
    _, headers = await user_and_headers()
    async with open_socket(headers) as s:
        for n in range(30):
            await s.send_json_to({"type": "ping", "id": n})
        await drain(s, until=lambda f: f["type"] == "error"
                    and f["payload"]["code"] == "rate_limited")
        await asyncio.sleep(0.5)
        await assert_alive(s)


async def test_a_ban_closes_the_socket_at_the_next_action():
    member, headers = await user_and_headers()
    async with open_socket(headers) as s:
        member.status = UserStatus.BANNED
        await sync_to_async(member.save)(update_fields=["status"])
        await s.send_json_to({"type": "subscribe", "stream": "chat:general", "id": 1})
        closed = await s.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHORIZED}


async def test_idle_sockets_still_get_events_after_the_redis_default_timeout():
    """redis-py's default socket_timeout (5 s) would end the receive loop of an idle
    channel; the hub's group channel and the member's own channel must both still deliver
    after a longer silence."""
    torrent_id = "00000000-0000-4000-8000-0000000000aa"
    member, headers = await user_and_headers()

    def torrent():
        from tests.factories import make_torrent

        return make_torrent(id=torrent_id)

    await sync_to_async(torrent)()
    layer = get_channel_layer()
    async with open_socket(headers) as s:
        await subscribe(s, f"torrent:{torrent_id}")
        await asyncio.sleep(6.5)
        await layer.group_send(torrent_group(torrent_id), {
            "type": "peers.counts",
            "payload": {"torrent_id": torrent_id, "seeders": 3, "leechers": 1, "snatches": 9}})
        counts = await next_frame(s)
        await layer.group_send(user_group(member.id),
                               {"type": "live.event", "payload": {"n": 1}})
        own = await next_frame(s)
    assert counts["stream"] == f"torrent:{torrent_id}"
    assert counts["event"] == "peers.counts"
    assert counts["payload"]["seeders"] == 3
    assert own == {"type": "event", "payload": {"n": 1}}
