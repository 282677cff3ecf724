"""What a report, a warning or a queue item is about: one lookup per target type that says
whether a member may see the thing (and so report it), who wrote it, and how staff read it.

The lookups of moderation's own and lower areas' things (members, forum posts and topics,
chat, private messages) are here. The areas above moderation register theirs when Django
starts (domain.catalog's AppConfig.ready registers torrents, comments, requests and
collections, domain/catalog/moderation_hooks.py), so moderation imports nothing of theirs.
Nothing imports this module back but moderation's reports and those registrations."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.accounts.models import User
from domain.base import TargetType
from domain.community import access
from domain.community.models import ChatMessage, ForumPost, ForumTopic, PrivateMessage
from domain.errors import NotFound


@dataclass(frozen=True)
class Target:
    target_type: str
    target_id: uuid.UUID
    label: str  # "Forum post by alice in Welcome"
    excerpt: str  # the text staff judge (title, body), shortened
    url: str  # where the thing is shown
    author_id: uuid.UUID | None  # who is answerable for it (None: nobody, or deleted)


# `lookup(target_id, viewer)`: the Target, or None when it does not exist or `viewer` may
# not see it. viewer None: staff reading, no visibility check.
Lookup = Callable[[uuid.UUID, Any], Target | None]

_LOOKUPS: dict[str, Lookup] = {}


def target_lookup_register(target_type: str, lookup: Lookup) -> None:
    _LOOKUPS[str(target_type)] = lookup


def text_short(text: str, n: int = 300) -> str:
    """`text` on one line, cut to `n` characters (an ellipsis marks the cut)."""
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def name_of(user: Any) -> str:
    return user.username if user is not None else "[deleted]"


def target_describe(target_type: str, target_id: Any, *, viewer: Any = None) -> Target:
    """The target, as `viewer` may see it (None: staff reading, no visibility check).
    NotFound when it does not exist or the viewer may not see it (the same answer, so a
    report form cannot probe for hidden things)."""
    missing = NotFound("There is nothing to report there (it may have been deleted).")
    try:
        tid = uuid.UUID(str(target_id))
    except ValueError:
        raise missing from None
    lookup = _LOOKUPS.get(str(target_type))
    target = lookup(tid, viewer) if lookup is not None else None
    if target is None:
        raise missing
    return target


def _forum_post(tid: uuid.UUID, viewer: Any) -> Target | None:
    post = ForumPost.objects.select_related("author", "topic__forum").filter(
        pk=tid, deleted_at__isnull=True, topic__deleted_at__isnull=True).first()
    if post is None or not (viewer is None or access.forum_can_read(viewer, post.topic.forum)):
        return None
    return Target(TargetType.FORUM_POST.value, tid,
                  f"Forum post by {name_of(post.author)} in {post.topic.title}",
                  text_short(post.body), f"/forums/topic/{post.topic_id}/#post-{tid}",
                  post.author_id)


def _forum_topic(tid: uuid.UUID, viewer: Any) -> Target | None:
    topic = ForumTopic.objects.select_related("author", "forum").filter(
        pk=tid, deleted_at__isnull=True).first()
    if topic is None or not (viewer is None or access.forum_can_read(viewer, topic.forum)):
        return None
    return Target(TargetType.FORUM_TOPIC.value, tid,
                  f"Forum topic {topic.title} by {name_of(topic.author)}",
                  text_short(topic.title), f"/forums/topic/{tid}/", topic.author_id)


def _chat_message(tid: uuid.UUID, viewer: Any) -> Target | None:
    message = ChatMessage.objects.select_related("user", "room").filter(
        pk=tid, deleted_at__isnull=True).first()
    if message is None or not (viewer is None
                               or access.chat_room_can_read(viewer, message.room)):
        return None
    return Target(TargetType.CHAT_MESSAGE.value, tid,
                  f"Chat message by {name_of(message.user)} in #{message.room.name}",
                  text_short(message.body), f"/chat/{message.room.name}/", message.user_id)


def _private_message(tid: uuid.UUID, viewer: Any) -> Target | None:
    pm = PrivateMessage.objects.select_related("sender").filter(pk=tid).first()
    # Only the recipient reports a PM: the sender knows what they wrote.
    if pm is None or not (viewer is None or (pm.recipient_id == viewer.pk
                                             and pm.recipient_deleted_at is None)):
        return None
    return Target(TargetType.PRIVATE_MESSAGE.value, tid,
                  f"Private message from {name_of(pm.sender)}", text_short(pm.body), "",
                  pm.sender_id)


def _member(tid: uuid.UUID, viewer: Any) -> Target | None:
    member = User.objects.filter(pk=tid, deleted_at__isnull=True).first()
    if member is None:
        return None
    return Target(TargetType.USER.value, tid, f"Member {member.username}",
                  text_short(member.profile_text), f"/users/{member.username}/", member.pk)


target_lookup_register(TargetType.FORUM_POST, _forum_post)
target_lookup_register(TargetType.FORUM_TOPIC, _forum_topic)
target_lookup_register(TargetType.CHAT_MESSAGE, _chat_message)
target_lookup_register(TargetType.PRIVATE_MESSAGE, _private_message)
target_lookup_register(TargetType.USER, _member)
