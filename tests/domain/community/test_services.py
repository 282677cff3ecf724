"""Community services against the real database: what they write, who they notify, what
they refuse, and the audit rows staff actions leave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from domain.community import selectors, services
from domain.community.events import event_id, event_id_parse
from domain.community.models import (
    ChatMessage,
    ChatRoom,
    Forum,
    ForumPost,
    ForumSubscription,
    ForumTopic,
    MemberBlock,
    Notification,
    PrivateMessage,
)
from domain.errors import Conflict, NotFound, NotPermitted, RateLimited, ValidationFailed
from domain.moderation import feed as moderation_feed
from domain.moderation.models import AuditLog, Report
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def general() -> Forum:
    return Forum.objects.get(slug="general")


def test_event_ids_round_trip_and_order_like_time():
    a = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    b = a + timedelta(microseconds=1)
    assert event_id_parse(event_id(a)) == a
    assert event_id(a) < event_id(b)
    for bad in ("", "12", "x" * 17, None, 5, "9" * 18):
        assert event_id_parse(bad) is None


def test_chat_post_stores_mentions_of_members_who_can_read_the_room(member):
    reader = make_user("member", username="reader_one")
    staff_only = ChatRoom.objects.get(name="staff")
    with transaction.atomic():
        message = services.chat_message_post(user=member, room_name="general",
                                             body="hey @Reader_One and @nobody_here")
    assert message.mentions == [reader.id]
    assert Notification.objects.get(user=reader).kind == "mention"
    with pytest.raises(NotFound):
        services.chat_message_post(user=member, room_name=staff_only.name, body="hi")


def test_chat_flood_control_is_per_member(member, settings):
    settings.COMMUNITY_CHAT_BURST = 2
    settings.COMMUNITY_CHAT_BURST_SECONDS = 60
    other = make_user("member")
    for n in range(2):
        services.chat_message_post(user=member, room_name="general", body=f"m{n}")
    with pytest.raises(RateLimited):
        services.chat_message_post(user=member, room_name="general", body="m3")
    services.chat_message_post(user=other, room_name="general", body="still fine")
    assert ChatMessage.objects.filter(user=member).count() == 2


def test_chat_cleanup_deletes_only_old_messages_and_twice_is_harmless(member):
    room = ChatRoom.objects.get(name="general")
    old = ChatMessage.objects.create(room=room, user=member, body="old",
                                     created_at=timezone.now() - timedelta(days=100))
    recent = ChatMessage.objects.create(room=room, user=member, body="recent")
    cutoff = timezone.now() - timedelta(days=90)
    assert services.chat_messages_cleanup(older_than=cutoff, batch_size=1) == 1
    assert services.chat_messages_cleanup(older_than=cutoff) == 0
    assert list(ChatMessage.objects.values_list("id", flat=True)) == [recent.id]
    assert not ChatMessage.objects.filter(id=old.id).exists()


def test_forum_reply_notifies_subscribers_once_and_updates_counters(member):
    author = make_user("member")
    follower = make_user("member")
    topic = services.forum_topic_create(user=author, forum_id=general().id, title="Tips",
                                        body="first")
    ForumSubscription.objects.create(user=follower, topic=topic)
    with transaction.atomic():
        services.forum_post_create(user=member, topic_id=topic.id,
                                   body=f"reply mentioning @{follower.username}")
    kinds = {n.user_id: n.kind for n in Notification.objects.exclude(kind="achievement")}
    # The follower is mentioned and subscribed: one notification, the mention.
    assert kinds == {author.id: "forum_reply", follower.id: "mention"}
    # A first forum post earns "First words" (counters move with the post).
    assert set(Notification.objects.filter(kind="achievement")
               .values_list("user_id", flat=True)) == {author.id, member.id}
    topic.refresh_from_db()
    forum = general()
    assert topic.post_count == 2 and topic.last_poster_id == member.id
    assert forum.topic_count == 1 and forum.post_count == 2 and forum.last_topic_id == topic.id


def test_locked_topics_refuse_members_but_not_moderators(member, moderator):
    topic = services.forum_topic_create(user=member, forum_id=general().id, title="Lock me",
                                        body="body")
    services.forum_topic_moderate(actor=moderator, topic_id=topic.id, action="lock")
    with pytest.raises(Conflict):
        services.forum_post_create(user=member, topic_id=topic.id, body="more")
    services.forum_post_create(user=moderator, topic_id=topic.id, body="staff note")
    assert AuditLog.objects.filter(action="forum.topic_lock", actor=moderator).exists()


def test_moving_a_topic_moves_its_counts(moderator):
    topic = services.forum_topic_create(user=moderator, forum_id=general().id, title="Move",
                                        body="body")
    support = Forum.objects.get(slug="support")
    services.forum_topic_moderate(actor=moderator, topic_id=topic.id, action="move",
                                  to_forum_id=support.id)
    support.refresh_from_db()
    assert ForumTopic.objects.get(id=topic.id).forum_id == support.id
    assert (support.topic_count, support.post_count) == (1, 1)
    assert (general().topic_count, general().post_count) == (0, 0)


def test_edit_keeps_history_and_staff_edit_is_audited(member, moderator):
    topic = services.forum_topic_create(user=member, forum_id=general().id, title="Edit",
                                        body="v1")
    post = ForumPost.objects.get(topic=topic)
    services.forum_post_edit(user=member, post_id=post.id, body="v2")
    services.forum_post_edit(user=moderator, post_id=post.id, body="v3")
    post.refresh_from_db()
    assert post.body == "v3"
    assert [h["body"] for h in post.edit_history] == ["v1", "v2"]
    assert AuditLog.objects.filter(action="forum.post_edit", actor=moderator).count() == 1
    with pytest.raises(NotPermitted):
        services.forum_post_edit(user=make_user("member"), post_id=post.id, body="nope")


def test_hidden_forums_are_not_listed_or_readable(member, moderator):
    assert "staff" not in [f.slug for f in selectors.forums_for(member)]
    assert "vip-lounge" not in [f.slug for f in selectors.forums_for(member)]
    assert "staff" in [f.slug for f in selectors.forums_for(moderator)]
    with pytest.raises(NotFound):
        selectors.forum_get(member, Forum.objects.get(slug="staff").id)


def test_pm_block_and_staff_bypass(member, moderator):
    pest = make_user("member")
    services.member_block(user=member, username=pest.username)
    with pytest.raises(NotPermitted):
        services.pm_send(sender=pest, recipient_username=member.username, subject="s", body="b")
    services.pm_send(sender=moderator, recipient_username=member.username, subject="Staff",
                     body="A word")
    assert MemberBlock.objects.count() == 1
    assert PrivateMessage.objects.get().sender_id == moderator.id
    with pytest.raises(ValidationFailed):
        services.member_block(user=member, username=member.username)


def test_pm_unread_counts_and_read_state(member):
    other = make_user("member")
    first = services.pm_send(sender=other, recipient_username=member.username, subject="One",
                             body="1")
    services.pm_reply(sender=other, parent_id=first.id, body="2")
    assert services.pm_unread_count(user_id=member.id) == 2
    rows = selectors.pm_conversations(member)
    assert [(r.subject, r.unread, r.messages, r.other) for r in rows] == [
        ("One", 2, 2, other.username)]
    services.pm_conversation_mark_read(user=member, conversation_id=first.conversation_id)
    assert services.pm_unread_count(user_id=member.id) == 0
    assert Notification.objects.filter(user=member, kind="private_message").count() == 2


def test_pm_rows_go_once_both_sides_deleted(member):
    other = make_user("member")
    message = services.pm_send(sender=other, recipient_username=member.username,
                               subject="Bye", body="b")
    services.pm_conversation_delete(user=member, conversation_id=message.conversation_id)
    assert PrivateMessage.objects.filter(id=message.id).exists()
    assert selectors.pm_conversations(member) == []
    services.pm_conversation_delete(user=other, conversation_id=message.conversation_id)
    assert not PrivateMessage.objects.filter(id=message.id).exists()


def test_notifications_mark_one_then_all(member):
    from domain.community.notifications import notification_send

    first = notification_send(user_id=member.id, kind="system", title="a")
    notification_send(user_id=member.id, kind="system", title="b")
    assert services.notifications_mark_read(user=member, notification_id=first.id) == 1
    assert services.notifications_unread_count(user_id=member.id) == 1
    assert services.notifications_mark_read(user=member) == 1
    assert services.notifications_unread_count(user_id=member.id) == 0
    with pytest.raises(NotFound):
        services.notifications_mark_read(user=member, notification_id="not-a-uuid")


def test_reports_are_claimed_and_resolved_by_the_claimer_with_audit(moderator):
    reporter = make_user("member")
    report = Report.objects.create(reporter=reporter, target_type="user",
                                   target_id=reporter.id, reason="spam", description="spam")
    moderation_feed.report_claim(actor=moderator, report_id=report.id)
    other = make_user("moderator")
    with pytest.raises(Conflict):
        moderation_feed.report_resolve(actor=other, report_id=report.id, dismiss=False,
                                       note="done")
    with pytest.raises(ValidationFailed):
        moderation_feed.report_resolve(actor=moderator, report_id=report.id, dismiss=False,
                                       note=" ")
    moderation_feed.report_resolve(actor=moderator, report_id=report.id, dismiss=True,
                                   note="not spam")
    report.refresh_from_db()
    assert report.status == "dismissed" and report.resolved_by_id == moderator.id
    assert sorted(AuditLog.objects.filter(actor=moderator).values_list("action", flat=True)) == [
        "report.claim", "report.dismissed"]
    with pytest.raises(NotPermitted):
        moderation_feed.moderation_feed_open(reporter)


def test_chat_history_reads_a_fixed_number_of_queries(member):
    room = ChatRoom.objects.get(name="general")
    ChatMessage.objects.bulk_create(
        ChatMessage(room=room, user=make_user("member") if n % 10 == 0 else member,
                    body=f"m{n}") for n in range(60))
    from django.db import connection

    with CaptureQueriesContext(connection) as queries:
        history = selectors.chat_history(member, room)
    assert len(history) == 50
    assert len(queries) == 1
