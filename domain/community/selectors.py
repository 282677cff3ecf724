"""Reads for chat, private messages, forums and notifications. Each one answers only with
what the member may see (domain.community.access); views and consumers never filter by
hand. Members' names are shown (they are public in chat and forums); no private stats."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest

from domain.accounts.models import User
from domain.accounts.permissions import Perm, user_has_perm
from domain.community import access
from domain.community.events import chat_message_payload, forum_post_payload
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
from domain.errors import NotFound
from domain.events import ChatMessagePayload, ForumPostPayload

CHAT_HISTORY_SIZE = 50
TOPICS_PER_PAGE = 25
POSTS_PER_PAGE = 20
NOTIFICATIONS_PER_PAGE = 30
REPLAY_LIMIT = 200


# -- chat ------------------------------------------------------------------------------


def chat_rooms_for(user: Any) -> list[ChatRoom]:
    return [r for r in ChatRoom.objects.filter(is_active=True)
            if access.chat_room_can_read(user, r)]


def chat_room_get(user: Any, name: Any) -> ChatRoom:
    room = ChatRoom.objects.filter(name=str(name)[:64], is_active=True).first()
    if room is None or not access.chat_room_can_read(user, room):
        # Same answer for "hidden" and "missing": a room's existence is not disclosed.
        raise NotFound("There is no such chat room.")
    return room


def _chat_payloads(messages: list[ChatMessage]) -> list[ChatMessagePayload]:
    return [chat_message_payload(m, username=m.user.username if m.user else "[deleted]")
            for m in messages]


def chat_history(user: Any, room: ChatRoom, *, before: datetime | None = None,
                 before_id: Any = None,
                 limit: int = CHAT_HISTORY_SIZE) -> list[ChatMessagePayload]:
    """The last `limit` messages (older than `before`, or than the message `before_id`),
    oldest first, deleted ones left out. `before_id` is the cursor a page scrolling back
    sends: its oldest message, compared by (created_at, id), so an edit (which moves a
    message's event id forward) or two messages in one microsecond never repeat or skip a
    page."""
    if not access.chat_room_can_read(user, room):
        raise NotFound("There is no such chat room.")
    queryset = (ChatMessage.objects.select_related("user", "room")
                .filter(room=room, deleted_at__isnull=True).order_by("-created_at", "-id"))
    if before is not None:
        queryset = queryset.filter(created_at__lt=before)
    if before_id is not None:
        try:
            cursor = ChatMessage.objects.filter(room=room, id=uuid.UUID(str(before_id))).values(
                "created_at", "id").first()
        except ValueError:
            cursor = None
        if cursor is None:
            return []
        queryset = queryset.filter(Q(created_at__lt=cursor["created_at"])
                                   | Q(created_at=cursor["created_at"], id__lt=cursor["id"]))
    return _chat_payloads(list(reversed(queryset[:max(1, min(limit, 100))])))


def _changed_at() -> Greatest:
    """A row's latest change, the moment its event id names (PostgreSQL's GREATEST skips
    NULLs): replays are ordered by it, so a replay cut at its limit is a prefix in event
    id order and the page's last id never skips what was cut off."""
    return Greatest("created_at", "edited_at", "deleted_at")


def chat_changes_since(user: Any, room: ChatRoom, since: datetime, *,
                       limit: int = REPLAY_LIMIT) -> list[ChatMessagePayload]:
    """Messages created, edited or deleted after `since`, for a socket catching up; the
    first `limit` changes in event id order."""
    if not access.chat_room_can_read(user, room):
        raise NotFound("There is no such chat room.")
    changed = (Q(created_at__gt=since) | Q(edited_at__gt=since) | Q(deleted_at__gt=since))
    messages = list(ChatMessage.objects.select_related("user", "room")
                    .filter(changed, room=room).order_by(_changed_at(), "id")[:limit])
    return _chat_payloads(messages)


# -- forums ----------------------------------------------------------------------------


def forums_for(user: Any) -> list[Forum]:
    return [f for f in Forum.objects.filter(is_active=True).select_related("last_topic")
            if access.forum_can_read(user, f)]


HOME_TOPICS_CACHE_SECONDS = 60


def forum_latest_topics(user: Any, slug: str, *, limit: int = 5) -> list[ForumTopic]:
    """The newest topics of the forum `slug` (the home page's announcements), [] when it
    is missing or `user` may not read it. The topics are cached per forum; the access
    check is the member's own."""
    forum = Forum.objects.filter(slug=slug, is_active=True).first()
    if forum is None or not access.forum_can_read(user, forum):
        return []
    key = f"home:topics:{forum.pk}:{limit}"
    found: Any = cache.get(key)
    if found is None:
        found = list(ForumTopic.objects.filter(forum=forum, deleted_at__isnull=True)
                     .select_related("author").order_by("-created_at")[:limit])
        cache.set(key, found, HOME_TOPICS_CACHE_SECONDS)
    return found  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ForumNode:
    """A forum with the children the member may read, for the index and a forum's page."""

    forum: Forum
    children: list[ForumNode]


def forum_tree(user: Any, *, under: Forum | None = None) -> list[ForumNode]:
    """The readable forums as the hierarchy `parent` makes: the roots (or the children of
    `under`), each with its readable descendants. A forum under one the member may not read
    is left out with it, so a hidden forum hides its sub-forums too."""
    readable = forums_for(user)
    by_parent: dict[Any, list[Forum]] = {}
    for forum in readable:
        by_parent.setdefault(forum.parent_id, []).append(forum)

    def nodes(parent_id: Any, depth: int) -> list[ForumNode]:
        if depth > 8:  # a cycle made in admin must not hang the page
            return []
        return [ForumNode(f, nodes(f.id, depth + 1)) for f in by_parent.get(parent_id, [])]

    return nodes(under.id if under is not None else None, 0)


def forum_ancestors(forum: Forum) -> list[Forum]:
    """The forums above `forum`, outermost first (breadcrumbs)."""
    chain: list[Forum] = []
    parent_id = forum.parent_id
    while parent_id is not None and len(chain) < 8:
        parent = Forum.objects.filter(id=parent_id).first()
        if parent is None:
            break
        chain.append(parent)
        parent_id = parent.parent_id
    return list(reversed(chain))


def forum_subscribed_ids(user: Any) -> set[uuid.UUID]:
    return set(ForumSubscription.objects.filter(user=user, forum__isnull=False)
               .values_list("forum_id", flat=True))


def forum_get(user: Any, forum_id: Any) -> Forum:
    try:
        forum = Forum.objects.get(id=forum_id, is_active=True)
    except (Forum.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("There is no such forum.") from exc
    if not access.forum_can_read(user, forum):
        raise NotFound("There is no such forum.")
    return forum


def forum_topics_page(user: Any, forum: Forum, page: Any) -> Page:
    if not access.forum_can_read(user, forum):
        raise NotFound("There is no such forum.")
    queryset = (ForumTopic.objects.filter(forum=forum, deleted_at__isnull=True)
                .select_related("author", "last_poster")
                .order_by("-is_sticky", "-last_post_at", "-created_at"))
    return Paginator(queryset, TOPICS_PER_PAGE).get_page(page)


def forum_topic_get(user: Any, topic_id: Any) -> ForumTopic:
    try:
        topic = ForumTopic.objects.select_related("forum").get(id=topic_id,
                                                               deleted_at__isnull=True)
    except (ForumTopic.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("There is no such topic.") from exc
    if not access.forum_can_read(user, topic.forum):
        raise NotFound("There is no such topic.")
    return topic


def forum_posts_page(user: Any, topic: ForumTopic, page: Any) -> Page:
    if not access.forum_can_read(user, topic.forum):
        raise NotFound("There is no such topic.")
    queryset = (ForumPost.objects.filter(topic=topic)
                .select_related("author", "quoted__author").order_by("created_at", "id"))
    return Paginator(queryset, POSTS_PER_PAGE).get_page(page)


def forum_post_get(user: Any, post_id: Any) -> ForumPost:
    try:
        post = ForumPost.objects.select_related("topic__forum", "author").get(
            id=post_id, deleted_at__isnull=True, topic__deleted_at__isnull=True)
    except (ForumPost.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("There is no such post.") from exc
    if not access.forum_can_read(user, post.topic.forum):
        raise NotFound("There is no such post.")
    return post


def forum_topic_changes_since(user: Any, topic: ForumTopic, since: datetime, *,
                              limit: int = REPLAY_LIMIT) -> list[ForumPostPayload]:
    if not access.forum_can_read(user, topic.forum):
        raise NotFound("There is no such topic.")
    changed = (Q(created_at__gt=since) | Q(edited_at__gt=since) | Q(deleted_at__gt=since))
    posts = (ForumPost.objects.select_related("author").filter(changed, topic=topic)
             .order_by(_changed_at(), "id")[:limit])
    return [forum_post_payload(p, username=p.author.username if p.author else "[deleted]")
            for p in posts]


def forum_is_subscribed(user: Any, topic: ForumTopic) -> bool:
    return ForumSubscription.objects.filter(user=user, topic=topic).exists()


# -- private messages ------------------------------------------------------------------


def _ticket_reader(user: Any) -> bool:
    return user_has_perm(user, Perm.STAFF_ACCESS)


def pm_visible_to(user: Any, message: PrivateMessage) -> bool:
    if message.recipient_id == user.id and message.recipient_deleted_at is None:
        return True
    if message.sender_id == user.id and message.sender_deleted_at is None:
        return True
    if _ticket_reader(user):
        return PrivateMessage.objects.filter(conversation_id=message.conversation_id,
                                             recipient_group__isnull=False).exists()
    return False


@dataclass(frozen=True)
class ConversationRow:
    conversation_id: uuid.UUID
    subject: str
    last_at: datetime
    unread: int
    messages: int
    is_ticket: bool
    other: str


def pm_conversations(user: Any) -> list[ConversationRow]:
    """The member's conversations, newest activity first, with unread counts."""
    mine = (Q(recipient=user, recipient_deleted_at__isnull=True)
            | Q(sender=user, sender_deleted_at__isnull=True))
    rows = (PrivateMessage.objects.filter(mine).values("conversation_id")
            .annotate(last_at=Max("created_at"), messages=Count("id"),
                      unread=Count("id", filter=Q(recipient=user, is_read=False)))
            .order_by("-last_at")[:200])
    return _conversation_rows(user, rows)


def pm_tickets(user: Any) -> list[ConversationRow]:
    if not _ticket_reader(user):
        return []
    ids = (PrivateMessage.objects.filter(recipient_group__isnull=False)
           .values("conversation_id"))
    rows = (PrivateMessage.objects.filter(conversation_id__in=ids).values("conversation_id")
            .annotate(last_at=Max("created_at"), messages=Count("id"),
                      unread=Count("id", filter=Q(recipient=user, is_read=False)))
            .order_by("-last_at")[:200])
    return _conversation_rows(user, rows)


def _conversation_rows(user: Any, rows: Any) -> list[ConversationRow]:
    rows = list(rows)
    ids = [r["conversation_id"] for r in rows]
    firsts = {m.conversation_id: m for m in PrivateMessage.objects.filter(conversation_id__in=ids)
              .select_related("sender", "recipient", "recipient_group")
              .order_by("conversation_id", "created_at").distinct("conversation_id")}
    result = []
    for row in rows:
        first = firsts.get(row["conversation_id"])
        if first is None:
            continue
        if first.recipient_group_id is not None:
            other = (f"Staff ({first.sender.username})" if first.sender else "Staff")
        elif first.sender_id == user.id:
            other = first.recipient.username if first.recipient else "[deleted]"
        else:
            other = first.sender.username if first.sender else "[deleted]"
        result.append(ConversationRow(
            conversation_id=row["conversation_id"], subject=first.subject,
            last_at=row["last_at"], unread=row["unread"], messages=row["messages"],
            is_ticket=first.recipient_group_id is not None, other=other))
    return result


def pm_conversation(user: Any, conversation_id: Any) -> list[PrivateMessage]:
    try:
        conversation_id = uuid.UUID(str(conversation_id))
    except ValueError as exc:
        raise NotFound("There is no such conversation.") from exc
    messages = list(PrivateMessage.objects.filter(conversation_id=conversation_id)
                    .select_related("sender", "recipient", "recipient_group")
                    .order_by("created_at", "id"))
    is_ticket = any(m.recipient_group_id for m in messages)
    if is_ticket and _ticket_reader(user):
        return messages
    visible = [m for m in messages
               if (m.recipient_id == user.id and m.recipient_deleted_at is None)
               or (m.sender_id == user.id and m.sender_deleted_at is None)]
    if not visible:
        raise NotFound("There is no such conversation.")
    return visible


def pm_changes_since(user: Any, since: datetime, *,
                     limit: int = REPLAY_LIMIT) -> list[PrivateMessage]:
    return list(PrivateMessage.objects.filter(recipient=user, created_at__gt=since,
                                              recipient_deleted_at__isnull=True)
                .select_related("sender").order_by("created_at", "id")[:limit])


def member_blocks(user: Any) -> QuerySet[MemberBlock]:
    return MemberBlock.objects.filter(user=user).select_related("blocked").order_by(
        "blocked__username")


def member_blocked_ids(user_id: uuid.UUID) -> set[str]:
    return {str(b) for b in MemberBlock.objects.filter(user_id=user_id)
            .values_list("blocked_id", flat=True)}


# -- notifications ---------------------------------------------------------------------


@dataclass(frozen=True)
class UnreadCounts:
    notifications: int
    messages: int


def header_unread_counts(user_id: Any) -> UnreadCounts:
    """The header's two badges in one query: the member's unread notifications and unread
    private messages, counted as services.notifications_unread_count and pm_unread_count
    count them (the socket's "subscribed" snapshots send the same figures)."""
    notifications = (Notification.objects.filter(user_id=user_id, read_at__isnull=True)
                     .order_by().values("user_id").annotate(n=Count("id")).values("n"))
    messages = (PrivateMessage.objects.filter(recipient_id=user_id, is_read=False,
                                              recipient_deleted_at__isnull=True)
                .order_by().values("recipient_id").annotate(n=Count("id")).values("n"))
    row = (User.objects.filter(pk=user_id)
           .annotate(unread_notifications=Coalesce(Subquery(notifications), 0),
                     unread_messages=Coalesce(Subquery(messages), 0))
           .values_list("unread_notifications", "unread_messages").first())
    return UnreadCounts(*row) if row else UnreadCounts(0, 0)



def notifications_page(user: Any, page: Any) -> Page:
    queryset = Notification.objects.filter(user=user).order_by("-created_at", "-id")
    return Paginator(queryset, NOTIFICATIONS_PER_PAGE).get_page(page)


def notifications_since(user: Any, since: datetime, *,
                        limit: int = REPLAY_LIMIT) -> list[Notification]:
    return list(Notification.objects.filter(user=user, created_at__gt=since)
                .order_by("created_at", "id")[:limit])


def user_for_socket(user_id: Any) -> User | None:
    """The member behind a socket, fresh from the database (group and status may have
    changed since the socket opened)."""
    user = User.objects.select_related("group").filter(id=user_id).first()
    return user if user is not None and user.is_active else None
