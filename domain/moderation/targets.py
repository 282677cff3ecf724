"""What a report, a warning or a queue item is about: one lookup per target type that says
whether a member may see the thing (and so report it), who wrote it, and how staff read it.

A leaf module: it reads other areas' models and access rules, and nothing imports it back
but moderation's services and selectors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from domain.accounts.models import User
from domain.accounts.permissions import Perm, user_has_perm
from domain.base import TargetType
from domain.catalog.collection_selectors import collections_visible
from domain.catalog.models import (
    COMMENT_TARGETS,
    Comment,
    Torrent,
    TorrentCollection,
    TorrentRequest,
)
from domain.catalog.selectors import comment_page_url
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


def _short(text: str, n: int = 300) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _name(user: Any) -> str:
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
    kind = str(target_type)
    staff = viewer is None
    if kind == TargetType.TORRENT:
        torrent = Torrent.objects.filter(pk=tid, deleted_at__isnull=True).first()
        if torrent is None or not (staff or torrent.status == "approved"
                                   or torrent.uploader_id == viewer.pk
                                   or user_has_perm(viewer, Perm.TORRENTS_MODERATE)):
            raise missing
        return Target(kind, tid, f"Torrent {torrent.name}", _short(torrent.description),
                      f"/torrents/{tid}/", torrent.uploader_id)
    if kind == TargetType.COMMENT:
        comment = Comment.objects.select_related("author").filter(
            pk=tid, deleted_at__isnull=True).first()
        if comment is None or comment.target_type not in COMMENT_TARGETS:
            raise missing
        if not staff:
            # A comment is seen where it is shown: under a torrent, request or collection
            # the viewer may open (a pending torrent, a private collection, a deleted
            # request hide their comments, and a report by id must not reach them).
            target_describe(comment.target_type, comment.target_id, viewer=viewer)
        return Target(kind, tid, f"Comment by {_name(comment.author)}", _short(comment.body),
                      comment_page_url(target_type=comment.target_type,
                                       target_id=comment.target_id) + f"#comment-{tid}",
                      comment.author_id)
    if kind == TargetType.FORUM_POST:
        post = ForumPost.objects.select_related("author", "topic__forum").filter(
            pk=tid, deleted_at__isnull=True, topic__deleted_at__isnull=True).first()
        if post is None or not (staff or access.forum_can_read(viewer, post.topic.forum)):
            raise missing
        return Target(kind, tid, f"Forum post by {_name(post.author)} in {post.topic.title}",
                      _short(post.body), f"/forums/topic/{post.topic_id}/#post-{tid}",
                      post.author_id)
    if kind == TargetType.FORUM_TOPIC:
        topic = ForumTopic.objects.select_related("author", "forum").filter(
            pk=tid, deleted_at__isnull=True).first()
        if topic is None or not (staff or access.forum_can_read(viewer, topic.forum)):
            raise missing
        return Target(kind, tid, f"Forum topic {topic.title} by {_name(topic.author)}",
                      _short(topic.title), f"/forums/topic/{tid}/", topic.author_id)
    if kind == TargetType.CHAT_MESSAGE:
        message = ChatMessage.objects.select_related("user", "room").filter(
            pk=tid, deleted_at__isnull=True).first()
        if message is None or not (staff or access.chat_room_can_read(viewer, message.room)):
            raise missing
        return Target(kind, tid, f"Chat message by {_name(message.user)} in "
                      f"#{message.room.name}", _short(message.body),
                      f"/chat/{message.room.name}/", message.user_id)
    if kind == TargetType.PRIVATE_MESSAGE:
        pm = PrivateMessage.objects.select_related("sender").filter(pk=tid).first()
        # Only the recipient reports a PM: the sender knows what they wrote.
        if pm is None or not (staff or (pm.recipient_id == viewer.pk
                                        and pm.recipient_deleted_at is None)):
            raise missing
        return Target(kind, tid, f"Private message from {_name(pm.sender)}",
                      _short(pm.body), "", pm.sender_id)
    if kind == TargetType.REQUEST:
        request = TorrentRequest.objects.filter(pk=tid, deleted_at__isnull=True).first()
        if request is None:
            raise missing
        return Target(kind, tid, f"Request {request.title}", _short(request.description),
                      f"/requests/{tid}/", request.requester_id)
    if kind == TargetType.COLLECTION:
        # A private collection is reported only by those who may open it.
        collections = (TorrentCollection.objects.filter(deleted_at__isnull=True) if staff
                       else collections_visible(viewer))
        collection = collections.filter(pk=tid).first()
        if collection is None:
            raise missing
        return Target(kind, tid, f"Collection {collection.name}",
                      _short(collection.description), f"/collections/{tid}/",
                      collection.owner_id)
    if kind == TargetType.USER:
        member = User.objects.filter(pk=tid, deleted_at__isnull=True).first()
        if member is None:
            raise missing
        return Target(kind, tid, f"Member {member.username}", _short(member.profile_text),
                      f"/users/{member.username}/", member.pk)
    raise missing
