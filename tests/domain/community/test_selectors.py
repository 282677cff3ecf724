"""Catch-up reads against the real database: a replay cut at its limit is the first
changes in event id order, so a page resuming from the last one it got skips nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from domain.community import selectors
from domain.community.events import event_id, event_id_parse
from domain.community.models import ChatMessage, ChatRoom, Forum, ForumPost
from domain.community.services import forum_topic_create
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_chat_replay_limit_cuts_in_event_id_order_and_resuming_skips_nothing():
    alice = make_user("member")
    room = ChatRoom.objects.get(name="general")
    now = timezone.now()
    since = now - timedelta(minutes=1)
    # Written long before `since`, edited after every message below was posted.
    edited = ChatMessage.objects.create(room=room, user=alice, body="old",
                                        created_at=now - timedelta(hours=1),
                                        edited_at=now + timedelta(seconds=10))
    for n in range(3):
        ChatMessage.objects.create(room=room, user=alice, body=f"new {n}",
                                   created_at=now + timedelta(seconds=n))

    first = selectors.chat_changes_since(alice, room, since, limit=2)
    assert [p["body"] for p in first] == ["new 0", "new 1"]
    resume = event_id_parse(first[-1]["event_id"])
    assert resume is not None
    rest = selectors.chat_changes_since(alice, room, resume, limit=2)
    assert [p["body"] for p in rest] == ["new 2", "old"]
    assert rest[-1]["id"] == str(edited.id)
    assert edited.edited_at is not None
    assert rest[-1]["event_id"] == event_id(edited.edited_at)


def test_forum_replay_limit_cuts_in_event_id_order():
    author = make_user("member")
    topic = forum_topic_create(user=author, forum_id=Forum.objects.get(slug="general").id,
                               title="Order", body="opening post")
    now = timezone.now()
    opening = ForumPost.objects.get(topic=topic)
    opening.created_at = now - timedelta(hours=1)
    opening.deleted_at = now + timedelta(seconds=10)
    opening.save(update_fields=["created_at", "deleted_at"])
    for n in range(2):
        ForumPost.objects.create(topic=topic, author=author, body=f"reply {n}",
                                 created_at=now + timedelta(seconds=n))

    replay = selectors.forum_topic_changes_since(author, topic, now - timedelta(minutes=1),
                                                 limit=2)

    assert [p["body"] for p in replay] == ["reply 0", "reply 1"]
    everything = selectors.forum_topic_changes_since(author, topic, now - timedelta(minutes=1))
    assert [p["deleted"] for p in everything] == [False, False, True]
