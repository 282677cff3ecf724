"""The community pages without JavaScript: read and post through plain forms; errors show
on the form; what members write is escaped; hidden forums and rooms stay hidden."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from domain.community.models import (
    ChatMessage,
    Forum,
    ForumPost,
    ForumSubscription,
    MemberBlock,
    Notification,
    PrivateMessage,
)
from domain.community.services import forum_topic_create
from domain.moderation.models import AuditLog, ModerationQueueItem
from tests.factories import make_user

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script>'


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_chat_room_page_posts_without_javascript_and_escapes(member):
    client = client_for(member)
    response = client.post(reverse("community:chat_room", args=["general"]), {"body": XSS})
    assert response.status_code == 302
    assert ChatMessage.objects.get(user=member).body == XSS

    page = client.get(reverse("community:chat_room", args=["general"])).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert XSS not in page


def test_chat_post_errors_show_on_the_form_and_write_nothing(member):
    client = client_for(member)
    response = client.post(reverse("community:chat_room", args=["general"]),
                           {"body": "x" * 1001})
    assert response.status_code == 400
    assert "limited to 1000 characters" in response.content.decode()
    assert not ChatMessage.objects.exists()


def test_hidden_rooms_are_not_found_for_members(member):
    client = client_for(member)
    assert client.get(reverse("community:chat_room", args=["staff"])).status_code == 404
    listing = client.get(reverse("community:chat")).content.decode()
    assert "General" in listing and "/chat/staff/" not in listing and "/chat/vip/" not in listing


def test_forum_topic_reply_quote_edit_and_subscription(member):
    author = make_user("member")
    forum = Forum.objects.get(slug="general")
    topic = forum_topic_create(user=author, forum_id=forum.id, title="Clients",
                               body="Which client?")
    first = ForumPost.objects.get(topic=topic)
    client = client_for(member)

    response = client.post(reverse("community:topic", args=[topic.id]),
                           {"body": f"I agree {XSS}", "quoted": str(first.id)})
    assert response.status_code == 302
    reply = ForumPost.objects.get(topic=topic, author=member)
    assert reply.quoted_id == first.id
    # The topic's author is subscribed (they started it) and was quoted: one notification.
    # (Their first post also earned the "First words" achievement.)
    assert list(Notification.objects.filter(user=author).exclude(kind="achievement")
                .values_list("kind", flat=True)) == ["quote"]

    page = client.get(reverse("community:topic", args=[topic.id])).content.decode()
    assert "Which client?" in page and XSS not in page and "&lt;script&gt;" in page

    response = client.post(reverse("community:post_edit", args=[reply.id]),
                           {"body": "Edited reply"})
    assert response.status_code == 302
    reply.refresh_from_db()
    assert reply.body == "Edited reply"
    assert reply.edit_history[0]["body"] == f"I agree {XSS}"

    client.post(reverse("community:topic_subscribe", args=[topic.id]), {"subscribe": "1"})
    assert ForumSubscription.objects.filter(user=member, topic=topic).exists()


def test_members_cannot_edit_others_posts_or_moderate(member):
    author = make_user("member")
    topic = forum_topic_create(user=author, forum_id=Forum.objects.get(slug="general").id,
                               title="Mine", body="my words")
    post = ForumPost.objects.get(topic=topic)
    client = client_for(member)
    response = client.post(reverse("community:post_edit", args=[post.id]), {"body": "hijack"})
    assert response.status_code == 400
    assert "only edit your own" in response.content.decode()
    assert client.post(reverse("community:topic_moderate", args=[topic.id]),
                       {"action": "lock"}).status_code == 403
    post.refresh_from_db()
    topic.refresh_from_db()
    assert post.body == "my words" and not topic.is_locked


def test_staff_forum_is_hidden_and_moderators_lock_with_audit(member, moderator):
    staff_forum = Forum.objects.get(slug="staff")
    assert client_for(member).get(
        reverse("community:forum", args=[staff_forum.id])).status_code == 404
    topic = forum_topic_create(user=moderator, forum_id=Forum.objects.get(slug="general").id,
                               title="Rules", body="Read them")
    response = client_for(moderator).post(reverse("community:topic_moderate", args=[topic.id]),
                                          {"action": "lock"})
    assert response.status_code == 302
    topic.refresh_from_db()
    assert topic.is_locked
    assert AuditLog.objects.filter(action="forum.topic_lock", actor=moderator).count() == 1
    response = client_for(member).post(reverse("community:topic", args=[topic.id]),
                                       {"body": "can I?"})
    assert response.status_code == 400
    assert "locked" in response.content.decode()


def test_pm_conversation_read_state_reply_and_delete_for_self(member):
    other = make_user("member")
    sender = client_for(other)
    response = sender.post(reverse("community:message_new"),
                           {"recipient": member.username, "subject": "Hi", "body": XSS})
    assert response.status_code == 302
    message = PrivateMessage.objects.get(sender=other)
    assert not message.is_read

    client = client_for(member)
    inbox = client.get(reverse("community:inbox")).content.decode()
    assert "1 new" in inbox
    page = client.get(reverse("community:conversation", args=[message.conversation_id]))
    assert XSS not in page.content.decode()
    message.refresh_from_db()
    assert message.is_read

    client.post(reverse("community:conversation", args=[message.conversation_id]),
                {"body": "Hello back", "parent": str(message.id)})
    answer = PrivateMessage.objects.get(sender=member)
    assert answer.recipient_id == other.id and answer.parent_id == message.id
    assert answer.conversation_id == message.conversation_id

    client.post(reverse("community:conversation_delete", args=[message.conversation_id]))
    assert client.get(reverse("community:conversation",
                              args=[message.conversation_id])).status_code == 404
    # The other side still has it.
    assert sender.get(reverse("community:conversation",
                              args=[message.conversation_id])).status_code == 200


def test_blocked_sender_cannot_write(member):
    pest = make_user("member")
    client_for(member).post(reverse("community:blocks"), {"username": pest.username})
    assert MemberBlock.objects.filter(user=member, blocked=pest).exists()
    response = client_for(pest).post(reverse("community:message_new"),
                                     {"recipient": member.username, "subject": "Hey",
                                      "body": "hello?"})
    assert response.status_code == 400
    assert "does not accept messages from you" in response.content.decode()
    assert not PrivateMessage.objects.exists()


def test_staff_ticket_reaches_staff_and_staff_answer(member, moderator):
    client_for(member).post(reverse("community:ticket_new"),
                            {"subject": "Help", "body": "My ratio"})
    ticket = PrivateMessage.objects.get(sender=member)
    assert ticket.recipient_group is not None
    assert ticket.recipient_group.is_staff
    staff = client_for(moderator)
    assert "Help" in staff.get(reverse("community:inbox")).content.decode()
    staff.post(reverse("community:conversation", args=[ticket.conversation_id]),
               {"body": "Seed more", "parent": str(ticket.id)})
    assert PrivateMessage.objects.get(sender=moderator).recipient_id == member.id
    other = make_user("member")
    assert client_for(other).get(reverse("community:conversation",
                                         args=[ticket.conversation_id])).status_code == 404


def test_notifications_page_marks_one_and_all_read(member):
    from domain.community.notifications import notification_send

    first = notification_send(user_id=member.id, kind="system", title=XSS)
    notification_send(user_id=member.id, kind="system", title="Second")
    client = client_for(member)
    page = client.get(reverse("community:notifications")).content.decode()
    assert "(2 unread)" in page and XSS not in page
    client.post(reverse("community:notification_read", args=[first.id]))
    assert Notification.objects.filter(user=member, read_at=None).count() == 1
    client.post(reverse("community:notifications_read_all"))
    assert Notification.objects.filter(user=member, read_at=None).count() == 0


def test_moderation_feed_is_for_staff_and_claims(member, moderator):
    item = ModerationQueueItem.objects.create(
        target_type="torrent", target_id="00000000-0000-4000-8000-000000000003",
        source="new_upload", summary="Some.Upload")
    assert client_for(member).get(reverse("community:moderation")).status_code == 403
    staff = client_for(moderator)
    assert "Some.Upload" in staff.get(reverse("community:moderation")).content.decode()
    staff.post(reverse("community:moderation_claim", args=["queue", item.id]))
    item.refresh_from_db()
    assert item.status == "claimed" and item.claimed_by_id == moderator.id
    assert client_for(member).post(
        reverse("community:moderation_claim", args=["queue", item.id])).status_code == 403


def test_forum_hierarchy_shows_categories_and_sub_forums_hidden_ones_left_out(member):
    general = Forum.objects.get(slug="general")
    encoding = Forum.objects.create(slug="enc", name="Encoding", parent=general,
                                    min_rank_read=100, min_rank_write=100,
                                    min_rank_create_topic=100)
    Forum.objects.create(slug="x26x", name="x264 and x265", parent=encoding,
                         min_rank_read=100, min_rank_write=100, min_rank_create_topic=100)
    Forum.objects.create(slug="secret-sub", name="Staff corner", parent=general,
                         min_rank_read=100, min_rank_write=100, min_rank_create_topic=100,
                         required_permission="staff_access")
    client = client_for(member)
    index = client.get(reverse("community:forums")).content.decode()
    # General has forums under it: a category heading over Encoding, whose sub-forum is named.
    assert 'class="forum-category"' in index and ">General</a></h2>" in index
    assert "Encoding" in index and "Sub-forums:" in index and "x264 and x265" in index
    staff = Forum.objects.get(slug="staff")
    assert "Staff corner" not in index and f"/forums/{staff.id}/" not in index
    page = client.get(reverse("community:forum", args=[encoding.id])).content.decode()
    assert "x264 and x265" in page and 'aria-label="Breadcrumbs"' in page
    assert f'href="/forums/{general.id}/"' in page  # the way up


def test_forum_subscription_notifies_new_topics_there_and_in_sub_forums(member):
    general = Forum.objects.get(slug="general")
    sub = Forum.objects.create(slug="sub", name="Sub", parent=general, min_rank_read=100,
                               min_rank_write=100, min_rank_create_topic=100)
    client = client_for(member)
    assert client.post(reverse("community:forum_subscribe", args=[general.id]),
                       {"subscribe": "1"}).status_code == 302
    assert ForumSubscription.objects.filter(user=member, forum=general).exists()
    assert "Unsubscribe from new topics" in client.get(
        reverse("community:forum", args=[general.id])).content.decode()

    author = make_user("member")
    forum_topic_create(user=author, forum_id=general.id, title="Top level", body="a")
    forum_topic_create(user=author, forum_id=sub.id, title="Below", body="b")
    forum_topic_create(user=member, forum_id=general.id, title="Mine", body="c")
    titles = sorted(Notification.objects.filter(user=member, kind="forum_topic")
                    .values_list("title", flat=True))
    assert titles == ["New topic in General: Top level", "New topic in Sub: Below"]

    client.post(reverse("community:forum_subscribe", args=[general.id]), {"subscribe": "0"})
    forum_topic_create(user=author, forum_id=general.id, title="After", body="d")
    assert Notification.objects.filter(user=member, kind="forum_topic").count() == 2
    # A forum the member may not read cannot be followed.
    staff = Forum.objects.get(slug="staff")
    assert client.post(reverse("community:forum_subscribe", args=[staff.id]),
                       {"subscribe": "1"}).status_code == 404
    assert not ForumSubscription.objects.filter(user=member, forum=staff).exists()


def test_chat_marks_the_viewers_mentions_and_pages_back_by_cursor(member, settings):
    from domain.community.selectors import CHAT_HISTORY_SIZE
    from domain.community.services import chat_message_post

    settings.COMMUNITY_CHAT_BURST = 1000
    other = make_user("member")
    chat_message_post(user=other, room_name="general", body=f"first <b> @{member.username}")
    for n in range(CHAT_HISTORY_SIZE):
        chat_message_post(user=other, room_name="general", body=f"line {n}")
    client = client_for(member)
    page = client.get(reverse("community:chat_room", args=["general"])).content.decode()
    assert "line 0<" in page and "first &lt;b&gt;" not in page  # a full page: 50 newest
    cursor = ChatMessage.objects.get(body="line 0").id
    assert f'href="?before={cursor}"' in page
    older = client.get(reverse("community:chat_room", args=["general"]),
                       {"before": str(cursor)}).content.decode()
    assert (f'first &lt;b&gt; <mark class="mention">@{member.username}</mark>' in older)
    assert "line 0<" not in older and "Latest messages" in older
    # A cursor that names no message is an empty page, not a server error.
    assert client.get(reverse("community:chat_room", args=["general"]),
                      {"before": "not-a-uuid"}).status_code == 200
