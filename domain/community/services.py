"""Writes for chat, private messages, forums and notifications.

Every function takes trusted-shape input from a handler (view or consumer), checks what
the acting member may do (domain.community.access, user_has_perm), writes in one
transaction, writes the audit row in it when staff act on someone else's words, and
publishes live events after commit (domain.events.publish).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from domain.accounts.counters import statistics_bump
from domain.accounts.models import User, UserGroup
from domain.accounts.permissions import Perm, require_perm, user_has_perm
from domain.base import TargetType
from domain.community import access
from domain.community.events import chat_message_payload, forum_post_payload, pm_payload
from domain.community.models import (
    ChatMessage,
    ChatMute,
    ChatRoom,
    Forum,
    ForumPost,
    ForumSubscription,
    ForumTopic,
    MemberBlock,
    Notification,
    NotificationKind,
    PrivateMessage,
)
from domain.community.notifications import notification_send
from domain.community.selectors import pm_visible_to
from domain.errors import Conflict, NotFound, NotPermitted, RateLimited, ValidationFailed
from domain.events import (
    ChatMessageChanged,
    ForumPostChanged,
    ForumTopicChanged,
    NotificationRead,
    PmNew,
    PmRead,
    StreamAccessChanged,
    forum_topic_group,
    publish,
)
from domain.moderation.services import audit_log_write
from domain.ratelimit import rate_limit_hit
from domain.signals import text_written_send

MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9_.-]{2,32})")
MAX_MENTIONS = 10
TOPIC_TITLE_MAX = 200
PM_SUBJECT_MAX = 200
FORUM_POST_MAX = 65536
PM_BODY_MAX = 65536

# The type strings the socket's catch-up replays under (declared in domain.events).
CHAT_MESSAGE_EVENT = ChatMessageChanged.type
FORUM_POST_EVENT = ForumPostChanged.type
PM_EVENT = PmNew.type


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _clean_body(body: Any, *, limit: int, what: str = "message") -> str:
    if not isinstance(body, str):
        raise ValidationFailed(f"The {what} must be text.", field="body")
    body = body.strip()
    if not body:
        raise ValidationFailed(f"The {what} is empty.", field="body")
    if len(body) > limit:
        raise ValidationFailed(f"The {what} is limited to {limit} characters "
                               f"({len(body)} given).", field="body", code="too_long")
    return body


def _mentioned_users(body: str, *, exclude: uuid.UUID) -> list[User]:
    names = {m.lower() for m in MENTION_RE.findall(body)}
    if not names:
        return []
    names_list = sorted(names)[:MAX_MENTIONS]
    query = Q()
    for name in names_list:
        query |= Q(username__iexact=name)
    return [u for u in User.objects.select_related("group").filter(query).exclude(id=exclude)
            if u.is_active]


def _username(user: Any) -> str:
    return user.username if user is not None else "[deleted]"


# -- chat ------------------------------------------------------------------------------


def _room(name: str) -> ChatRoom:
    room = ChatRoom.objects.filter(name=name, is_active=True).first()
    if room is None:
        raise NotFound("There is no such chat room.")
    return room


def chat_mute_active(*, user_id: uuid.UUID, room: ChatRoom) -> ChatMute | None:
    return (ChatMute.objects
            .filter(Q(room=room) | Q(room__isnull=True), user_id=user_id,
                    expires_at__gt=timezone.now())
            .order_by("-expires_at").first())


def chat_message_post(*, user: User, room_name: str, body: Any) -> ChatMessage:
    room = _room(room_name)
    if not access.chat_room_can_read(user, room):
        raise NotFound("There is no such chat room.")  # a hidden room stays hidden
    if not access.chat_room_can_post(user, room):
        raise NotPermitted("You may not talk in this room.")
    body = _clean_body(body, limit=room.max_message_length)
    mute = chat_mute_active(user_id=user.id, room=room)
    if mute is not None:
        raise NotPermitted(f"You are muted in chat until {mute.expires_at:%Y-%m-%d %H:%M} UTC.",
                           code="muted")
    rate_limit_hit(key=f"chat:{user.id}", limit=_setting("COMMUNITY_CHAT_BURST", 5),
                   window_seconds=_setting("COMMUNITY_CHAT_BURST_SECONDS", 5),
                   message="You are sending messages too fast; wait a few seconds.")
    if room.slow_mode_seconds:
        since = timezone.now() - timedelta(seconds=room.slow_mode_seconds)
        if ChatMessage.objects.filter(room=room, user=user, created_at__gt=since).exists():
            raise RateLimited(f"This room allows one message every {room.slow_mode_seconds} s.",
                              retry_after=float(room.slow_mode_seconds))
    mentioned = [u for u in _mentioned_users(body, exclude=user.id)
                 if access.chat_room_can_read(u, room)]
    with transaction.atomic():
        message = ChatMessage.objects.create(room=room, user=user, body=body,
                                             mentions=[u.id for u in mentioned])
        for target in mentioned:
            notification_send(
                user_id=target.id, kind=NotificationKind.MENTION,
                title=f"{user.username} mentioned you in #{room.name}", body=body[:300],
                url=f"/chat/{room.name}/", actor_id=user.id,
                target_type=TargetType.CHAT_MESSAGE, target_id=message.id)
        publish(ChatMessageChanged(room=room.name, payload=chat_message_payload(
            message, username=user.username)))
        text_written_send(target_type=TargetType.CHAT_MESSAGE, target_id=message.id, text=body,
                           author_id=user.id)
    return message


def _chat_message_for_update(message_id: Any) -> ChatMessage:
    try:
        message = (ChatMessage.objects.select_for_update(of=("self",))
                   .select_related("room", "user").get(id=message_id, deleted_at__isnull=True))
    except (ChatMessage.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("That message does not exist or was deleted.") from exc
    return message


def chat_message_edit(*, user: User, message_id: Any, body: Any) -> ChatMessage:
    with transaction.atomic():
        message = _chat_message_for_update(message_id)
        if message.user_id != user.id or not access.chat_room_can_post(user, message.room):
            raise NotPermitted("You can only edit your own messages.")
        message.body = _clean_body(body, limit=message.room.max_message_length)
        message.edited_at = timezone.now()
        message.save(update_fields=["body", "edited_at"])
        publish(ChatMessageChanged(room=message.room.name, payload=chat_message_payload(
            message, username=user.username)))
        # An edit is new text: the word list sees it as it saw the first version.
        text_written_send(target_type=TargetType.CHAT_MESSAGE, target_id=message.id,
                           text=message.body, author_id=message.user_id)
    return message


def chat_message_delete(*, user: User, message_id: Any) -> ChatMessage:
    with transaction.atomic():
        message = _chat_message_for_update(message_id)
        own = message.user_id == user.id
        if not (own and access.chat_room_can_read(user, message.room)) and not \
                access.chat_room_can_moderate(user, message.room):
            raise NotPermitted("You can only delete your own messages.")
        message.deleted_at = timezone.now()
        message.deleted_by = user
        message.save(update_fields=["deleted_at", "deleted_by"])
        if not own:
            audit_log_write(action="chat.message_delete", actor=user,
                            target_type=TargetType.CHAT_MESSAGE, target_id=message.id,
                            metadata={"room": message.room.name, "author_id":
                                      str(message.user_id) if message.user_id else None})
        publish(ChatMessageChanged(room=message.room.name, payload=chat_message_payload(
            message, username=_username(message.user))))
    return message


def chat_member_mute(*, actor: User, username: str, room_name: str | None, minutes: int,
                     reason: str = "") -> ChatMute:
    room = _room(room_name) if room_name else None
    allowed = (access.chat_room_can_moderate(actor, room) if room is not None
               else user_has_perm(actor, Perm.CHAT_MODERATE))
    if not allowed:
        raise NotPermitted("Only chat moderators can mute members.")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 43200:
        raise ValidationFailed("A mute lasts 1 minute to 30 days.", field="minutes")
    target = User.objects.filter(username__iexact=str(username)[:32]).first()
    if target is None:
        raise NotFound("There is no such member.")
    if target.id == actor.id:
        raise ValidationFailed("You cannot mute yourself.")
    with transaction.atomic():
        mute = ChatMute.objects.create(user=target, room=room, muted_by=actor,
                                       reason=str(reason)[:255],
                                       expires_at=timezone.now() + timedelta(minutes=minutes))
        audit_log_write(action="chat.member_mute", actor=actor, target_type=TargetType.USER,
                        target_id=target.id,
                        metadata={"room": room.name if room else None, "minutes": minutes,
                                  "reason": mute.reason})
    return mute


def chat_messages_cleanup(*, older_than: datetime, batch_size: int = 5000) -> int:
    """Delete chat messages created before `older_than`, in batches so a large backlog does
    not hold one long lock. Running it twice deletes nothing the second time."""
    deleted = 0
    while True:
        ids = list(ChatMessage.objects.filter(created_at__lt=older_than)
                   .values_list("id", flat=True)[:batch_size])
        if not ids:
            return deleted
        count, _ = ChatMessage.objects.filter(id__in=ids).delete()
        deleted += count


# -- private messages ------------------------------------------------------------------


def _staff_ticket_group() -> UserGroup:
    # Tickets are addressed to the lowest staff class: everyone above it reads them too.
    group = UserGroup.objects.filter(is_staff=True).order_by("rank").first()
    if group is None:
        raise NotFound("There is no staff group to write to.")
    return group


def pm_unread_count(*, user_id: uuid.UUID) -> int:
    return PrivateMessage.objects.filter(recipient_id=user_id, is_read=False,
                                         recipient_deleted_at__isnull=True).count()


def _pm_deliver(message: PrivateMessage, sender: User) -> None:
    """After commit: every tab of the recipient (or of each staff member, for tickets)."""
    if message.recipient_id is None:
        return
    unread = pm_unread_count(user_id=message.recipient_id)
    publish(PmNew(user_id=message.recipient_id,
                  payload=pm_payload(message, sender_name=sender.username, unread=unread)))
    notification_send(
        user_id=message.recipient_id, kind=NotificationKind.PRIVATE_MESSAGE,
        title=f"Message from {sender.username}: {message.subject}"[:200],
        url=f"/messages/{message.conversation_id}/", actor_id=sender.id,
        target_type=TargetType.PRIVATE_MESSAGE, target_id=message.id)


def pm_send(*, sender: User, recipient_username: str, subject: Any, body: Any) -> PrivateMessage:
    """Start a conversation with one member."""
    require_perm(sender, Perm.PM_SEND)
    subject = _clean_body(subject, limit=PM_SUBJECT_MAX, what="subject")
    body = _clean_body(body, limit=PM_BODY_MAX)
    recipient = (User.objects.select_related("group")
                 .filter(username__iexact=str(recipient_username).strip()[:32]).first())
    if recipient is None or not recipient.is_active:
        raise NotFound("There is no active member by that name.", code="no_recipient")
    if recipient.id == sender.id:
        raise ValidationFailed("You cannot write to yourself.", field="recipient")
    _pm_check_block(sender=sender, recipient=recipient)
    _pm_rate_limit(sender)
    with transaction.atomic():
        message_id = uuid.uuid4()
        message = PrivateMessage.objects.create(
            id=message_id, conversation_id=message_id, sender=sender, recipient=recipient,
            subject=subject, body=body)
        _pm_deliver(message, sender)
    return message


def pm_ticket_open(*, sender: User, subject: Any, body: Any) -> PrivateMessage:
    """A conversation with the staff: addressed to the staff group, read by every staff
    member with STAFF_ACCESS."""
    require_perm(sender, Perm.SITE_ACCESS)
    subject = _clean_body(subject, limit=PM_SUBJECT_MAX, what="subject")
    body = _clean_body(body, limit=PM_BODY_MAX)
    _pm_rate_limit(sender)
    with transaction.atomic():
        message_id = uuid.uuid4()
        return PrivateMessage.objects.create(
            id=message_id, conversation_id=message_id, sender=sender,
            recipient_group=_staff_ticket_group(), subject=subject, body=body)


def _pm_check_block(*, sender: User, recipient: User) -> None:
    if user_has_perm(sender, Perm.STAFF_ACCESS):
        return  # staff must always be able to reach a member
    if MemberBlock.objects.filter(user=recipient, blocked=sender).exists():
        raise NotPermitted("This member does not accept messages from you.", code="blocked")


def _pm_rate_limit(sender: User) -> None:
    rate_limit_hit(key=f"pm:{sender.id}", limit=_setting("COMMUNITY_PM_PER_MINUTE", 10),
                   window_seconds=60,
                   message="You are sending messages too fast; wait a minute.")


def pm_reply(*, sender: User, parent_id: Any, body: Any) -> PrivateMessage:
    """Answer a message: to the other side of the conversation (for a ticket, staff answer
    its author and the author's answers go back to the staff group)."""
    body = _clean_body(body, limit=PM_BODY_MAX)
    try:
        parent = PrivateMessage.objects.select_related("sender", "recipient").get(id=parent_id)
    except (PrivateMessage.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("That message does not exist.") from exc
    if not pm_visible_to(sender, parent):
        raise NotFound("That message does not exist.")
    is_ticket = PrivateMessage.objects.filter(conversation_id=parent.conversation_id,
                                              recipient_group__isnull=False).exists()
    author_id = (PrivateMessage.objects.filter(id=parent.conversation_id)
                 .values_list("sender_id", flat=True).first())
    recipient: User | None = None
    recipient_group: UserGroup | None = None
    if is_ticket and sender.id == author_id:
        recipient_group = _staff_ticket_group()
    elif is_ticket and author_id is not None:
        recipient = User.objects.filter(id=author_id).first()
    else:
        require_perm(sender, Perm.PM_SEND)
        recipient = parent.sender if parent.recipient_id == sender.id else parent.recipient
    if recipient_group is None:
        if recipient is None or not recipient.is_active:
            raise NotFound("The other member is no longer active.", code="no_recipient")
        _pm_check_block(sender=sender, recipient=recipient)
    _pm_rate_limit(sender)
    subject = parent.subject if parent.subject.startswith("Re: ") else f"Re: {parent.subject}"
    with transaction.atomic():
        message = PrivateMessage.objects.create(
            conversation_id=parent.conversation_id, parent=parent, sender=sender,
            recipient=recipient, recipient_group=recipient_group,
            subject=subject[:PM_SUBJECT_MAX], body=body)
        _pm_deliver(message, sender)
    return message


def pm_conversation_mark_read(*, user: User, conversation_id: uuid.UUID) -> int:
    """Mark what `user` received in the conversation read; tells their other tabs."""
    with transaction.atomic():
        changed = (PrivateMessage.objects
                   .filter(conversation_id=conversation_id, recipient=user, is_read=False)
                   .update(is_read=True, read_at=timezone.now()))
        if changed:
            publish(PmRead(user_id=user.id, payload={
                "conversation_id": str(conversation_id),
                "unread": pm_unread_count(user_id=user.id)}))
    return changed


def pm_conversation_delete(*, user: User, conversation_id: uuid.UUID) -> int:
    """Hide the conversation for `user` only; a row goes once both sides deleted it."""
    now = timezone.now()
    with transaction.atomic():
        base = PrivateMessage.objects.filter(conversation_id=conversation_id)
        count = (base.filter(recipient=user, recipient_deleted_at__isnull=True)
                 .update(recipient_deleted_at=now, is_read=True,
                         read_at=Coalesce(F("read_at"), Value(now))))
        count += base.filter(sender=user, sender_deleted_at__isnull=True).update(
            sender_deleted_at=now)
        if not count:
            raise NotFound("There is no such conversation in your messages.")
        # Staff tickets are the staff's record too: only member-to-member rows go.
        base.filter(sender_deleted_at__isnull=False, recipient_deleted_at__isnull=False,
                    recipient__isnull=False).delete()
    return count


def member_block(*, user: User, username: str) -> MemberBlock:
    target = User.objects.filter(username__iexact=str(username).strip()[:32]).first()
    if target is None:
        raise NotFound("There is no member by that name.")
    if target.id == user.id:
        raise ValidationFailed("You cannot block yourself.", field="username")
    block, _ = MemberBlock.objects.get_or_create(user=user, blocked=target)
    return block


def member_unblock(*, user: User, blocked_id: uuid.UUID) -> None:
    MemberBlock.objects.filter(user=user, blocked_id=blocked_id).delete()


# -- forums ----------------------------------------------------------------------------


def _forum(forum_id: Any) -> Forum:
    try:
        return Forum.objects.get(id=forum_id, is_active=True)
    except (Forum.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("There is no such forum.") from exc


def _topic(topic_id: Any, *, lock: bool = False) -> ForumTopic:
    queryset = ForumTopic.objects.select_related("forum").filter(deleted_at__isnull=True)
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    try:
        return queryset.get(id=topic_id)
    except (ForumTopic.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("There is no such topic.") from exc


def _clean_title(title: Any) -> str:
    return _clean_body(title, limit=TOPIC_TITLE_MAX, what="title")


def _forum_rate_limit(user: User) -> None:
    rate_limit_hit(key=f"forum:{user.id}", limit=_setting("COMMUNITY_FORUM_POSTS_PER_MINUTE", 6),
                   window_seconds=60, message="You are posting too fast; wait a minute.")


def forum_topic_create(*, user: User, forum_id: Any, title: Any, body: Any) -> ForumTopic:
    forum = _forum(forum_id)
    if not access.forum_can_create_topic(user, forum):
        raise NotPermitted("You may not start topics in this forum.")
    title = _clean_title(title)
    body = _clean_body(body, limit=FORUM_POST_MAX, what="post")
    _forum_rate_limit(user)
    now = timezone.now()
    with transaction.atomic():
        topic = ForumTopic.objects.create(forum=forum, author=user, title=title,
                                          last_post_at=now, last_poster=user, post_count=1)
        post = ForumPost.objects.create(topic=topic, author=user, body=body, created_at=now)
        statistics_bump(user_id=user.pk, counter="forum_posts_count")
        Forum.objects.filter(id=forum.id).update(
            topic_count=F("topic_count") + 1, post_count=F("post_count") + 1,
            last_post_at=now, last_topic=topic)
        ForumSubscription.objects.get_or_create(user=user, topic=topic)
        notified = {user.id}
        _notify_mentions(post, author=user, forum=forum, already=notified)
        _notify_forum_subscribers(topic, author=user, forum=forum, already=notified)
        text_written_send(target_type=TargetType.FORUM_POST, target_id=post.id,
                           text=f"{title}\n{body}", author_id=user.id)
    return topic


def _notify_mentions(post: ForumPost, *, author: User, forum: Forum,
                     already: set[uuid.UUID]) -> None:
    for target in _mentioned_users(post.body, exclude=author.id):
        if target.id in already or not access.forum_can_read(target, forum):
            continue
        already.add(target.id)
        notification_send(
            user_id=target.id, kind=NotificationKind.MENTION,
            title=f"{author.username} mentioned you in {post.topic.title}"[:200],
            body=post.body[:300], url=f"/forums/topic/{post.topic_id}/#post-{post.id}",
            actor_id=author.id, target_type=TargetType.FORUM_POST, target_id=post.id)


def _forum_lineage_ids(forum: Forum) -> list[Any]:
    """The forum and the ones above it: a subscription to a category covers its
    sub-forums."""
    ids, parent_id = [forum.id], forum.parent_id
    while parent_id is not None and parent_id not in ids and len(ids) < 9:
        ids.append(parent_id)
        parent_id = Forum.objects.filter(id=parent_id).values_list("parent_id", flat=True).first()
    return ids


def _notify_forum_subscribers(topic: ForumTopic, *, author: User, forum: Forum,
                              already: set[uuid.UUID]) -> None:
    subscribers = (User.objects.select_related("group")
                   .filter(forum_subscriptions__forum_id__in=_forum_lineage_ids(forum))
                   .exclude(id__in=already).distinct())
    for subscriber in subscribers:
        if not subscriber.is_active or not access.forum_can_read(subscriber, forum):
            continue
        already.add(subscriber.id)
        notification_send(
            user_id=subscriber.id, kind=NotificationKind.FORUM_TOPIC,
            title=f"New topic in {forum.name}: {topic.title}"[:200],
            url=f"/forums/topic/{topic.id}/", actor_id=author.id,
            target_type=TargetType.FORUM_TOPIC, target_id=topic.id)


def forum_post_create(*, user: User, topic_id: Any, body: Any,
                      quoted_id: Any = None) -> ForumPost:
    body = _clean_body(body, limit=FORUM_POST_MAX, what="post")
    with transaction.atomic():
        topic = _topic(topic_id, lock=True)
        forum = topic.forum
        if not access.forum_can_post(user, forum):
            raise NotPermitted("You may not post in this forum.")
        if topic.is_locked and not access.forum_can_moderate(user, forum):
            raise Conflict("This topic is locked.", code="locked")
        quoted = None
        if quoted_id:
            quoted = ForumPost.objects.filter(id=quoted_id, topic=topic,
                                              deleted_at__isnull=True).first()
            if quoted is None:
                raise ValidationFailed("The quoted post is not in this topic.", field="quoted")
        _forum_rate_limit(user)
        now = timezone.now()
        post = ForumPost.objects.create(topic=topic, author=user, body=body, quoted=quoted,
                                        created_at=now)
        statistics_bump(user_id=user.pk, counter="forum_posts_count")
        ForumTopic.objects.filter(id=topic.id).update(
            post_count=F("post_count") + 1, last_post_at=now, last_poster=user)
        Forum.objects.filter(id=forum.id).update(post_count=F("post_count") + 1,
                                                 last_post_at=now, last_topic=topic)
        notified: set[uuid.UUID] = {user.id}
        url = f"/forums/topic/{topic.id}/#post-{post.id}"
        if quoted is not None and quoted.author_id and quoted.author_id not in notified:
            quoted_author = User.objects.select_related("group").get(id=quoted.author_id)
            if quoted_author.is_active and access.forum_can_read(quoted_author, forum):
                notified.add(quoted_author.id)
                notification_send(
                    user_id=quoted_author.id, kind=NotificationKind.QUOTE,
                    title=f"{user.username} quoted you in {topic.title}"[:200],
                    body=body[:300], url=url, actor_id=user.id,
                    target_type=TargetType.FORUM_POST, target_id=post.id)
        _notify_mentions(post, author=user, forum=forum, already=notified)
        subscribers = (User.objects.select_related("group")
                       .filter(forum_subscriptions__topic=topic)
                       .exclude(id__in=notified))
        for subscriber in subscribers:
            if subscriber.is_active and access.forum_can_read(subscriber, forum):
                notification_send(
                    user_id=subscriber.id, kind=NotificationKind.FORUM_REPLY,
                    title=f"New post in {topic.title}"[:200], body=body[:300], url=url,
                    actor_id=user.id, target_type=TargetType.FORUM_POST, target_id=post.id)
        publish(ForumPostChanged(topic_id=topic.id, payload=forum_post_payload(
            post, username=user.username)))
        text_written_send(target_type=TargetType.FORUM_POST, target_id=post.id, text=body,
                           author_id=user.id)
    return post


def forum_post_edit(*, user: User, post_id: Any, body: Any) -> ForumPost:
    body = _clean_body(body, limit=FORUM_POST_MAX, what="post")
    with transaction.atomic():
        try:
            post = (ForumPost.objects.select_for_update(of=("self",))
                    .select_related("topic__forum", "author")
                    .get(id=post_id, deleted_at__isnull=True, topic__deleted_at__isnull=True))
        except (ForumPost.DoesNotExist, ValueError, TypeError) as exc:
            raise NotFound("There is no such post.") from exc
        forum = post.topic.forum
        own = post.author_id == user.id
        moderating = access.forum_can_moderate(user, forum)
        if not ((own and access.forum_can_post(user, forum)) or moderating):
            raise NotPermitted("You can only edit your own posts.")
        if own and post.topic.is_locked and not moderating:
            raise Conflict("This topic is locked.", code="locked")
        now = timezone.now()
        post.edit_history = [*post.edit_history,
                             {"body": post.body, "edited_at": now.isoformat(),
                              "edited_by": str(user.id)}]
        post.body, post.edited_at, post.edited_by = body, now, user
        post.save(update_fields=["body", "edit_history", "edited_at", "edited_by", "updated_at"])
        if not own:
            audit_log_write(action="forum.post_edit", actor=user,
                            target_type=TargetType.FORUM_POST, target_id=post.id)
        publish(ForumPostChanged(topic_id=post.topic_id, payload=forum_post_payload(
            post, username=_username(post.author))))
        # Re-checked whoever edits (the author, or a moderator's edit keeping a word in):
        # the flag is on the post and answers to its author.
        text_written_send(target_type=TargetType.FORUM_POST, target_id=post.id, text=body,
                           author_id=post.author_id)
    return post


def forum_post_delete(*, actor: User, post_id: Any) -> ForumPost:
    with transaction.atomic():
        try:
            post = (ForumPost.objects.select_for_update(of=("self",))
                    .select_related("topic__forum", "author")
                    .get(id=post_id, deleted_at__isnull=True))
        except (ForumPost.DoesNotExist, ValueError, TypeError) as exc:
            raise NotFound("There is no such post.") from exc
        if not access.forum_can_moderate(actor, post.topic.forum):
            raise NotPermitted("Only forum moderators can delete posts.")
        post.deleted_at, post.deleted_by = timezone.now(), actor
        post.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
        statistics_bump(user_id=post.author_id, counter="forum_posts_count", by=-1)
        audit_log_write(action="forum.post_delete", actor=actor,
                        target_type=TargetType.FORUM_POST, target_id=post.id,
                        metadata={"topic_id": str(post.topic_id)})
        publish(ForumPostChanged(topic_id=post.topic_id, payload=forum_post_payload(
            post, username=_username(post.author))))
    return post


TOPIC_ACTIONS = ("lock", "unlock", "sticky", "unsticky", "delete", "move")


def forum_topic_moderate(*, actor: User, topic_id: Any, action: str,
                         to_forum_id: Any = None) -> ForumTopic:
    if action not in TOPIC_ACTIONS:
        raise ValidationFailed("Unknown topic action.", field="action")
    with transaction.atomic():
        topic = _topic(topic_id, lock=True)
        if not access.forum_can_moderate(actor, topic.forum):
            raise NotPermitted("Only forum moderators can do this.")
        changes: dict[str, list[Any]] = {}
        if action in ("lock", "unlock"):
            changes["is_locked"] = [topic.is_locked, action == "lock"]
            topic.is_locked = action == "lock"
        elif action in ("sticky", "unsticky"):
            changes["is_sticky"] = [topic.is_sticky, action == "sticky"]
            topic.is_sticky = action == "sticky"
        elif action == "delete":
            topic.deleted_at = timezone.now()
            changes["deleted_at"] = [None, topic.deleted_at.isoformat()]
            Forum.objects.filter(id=topic.forum_id).update(topic_count=F("topic_count") - 1)
        else:
            target = _forum(to_forum_id)
            if not access.forum_can_moderate(actor, target):
                raise NotPermitted("You cannot move topics into that forum.")
            if target.id == topic.forum_id:
                raise ValidationFailed("The topic is already in that forum.", field="forum")
            changes["forum_id"] = [str(topic.forum_id), str(target.id)]
            Forum.objects.filter(id=topic.forum_id).update(
                topic_count=F("topic_count") - 1, post_count=F("post_count") - topic.post_count)
            Forum.objects.filter(id=target.id).update(
                topic_count=F("topic_count") + 1, post_count=F("post_count") + topic.post_count)
            topic.forum = target
        topic.save()
        audit_log_write(action=f"forum.topic_{action}", actor=actor,
                        target_type=TargetType.FORUM_TOPIC, target_id=topic.id,
                        changes=changes)
        publish(ForumTopicChanged(topic_id=topic.id, payload={
            "topic_id": str(topic.id), "action": action,
            "is_locked": topic.is_locked, "is_sticky": topic.is_sticky}))
        if action in ("move", "delete"):
            # Moved into a forum some followers may not read (staff), or gone: each open
            # socket on the topic asks again and is unsubscribed if refused.
            publish(StreamAccessChanged(stream_group=forum_topic_group(topic.id),
                                        payload={"reason": "moved" if action == "move"
                                                 else "deleted"}))
    return topic


def forum_topic_subscribe(*, user: User, topic_id: Any, subscribe: bool) -> bool:
    topic = _topic(topic_id)
    if not access.forum_can_read(user, topic.forum):
        raise NotFound("There is no such topic.")
    if subscribe:
        ForumSubscription.objects.get_or_create(user=user, topic=topic)
    else:
        ForumSubscription.objects.filter(user=user, topic=topic).delete()
    return subscribe


def forum_subscribe(*, user: User, forum_id: Any, subscribe: bool) -> bool:
    """Follow (or stop following) a forum: a notification for each new topic in it or in
    its sub-forums."""
    forum = _forum(forum_id)
    if not access.forum_can_read(user, forum):
        raise NotFound("There is no such forum.")
    if subscribe:
        ForumSubscription.objects.get_or_create(user=user, forum=forum)
    else:
        ForumSubscription.objects.filter(user=user, forum=forum).delete()
    return subscribe


def forum_topic_viewed(*, topic_id: uuid.UUID) -> None:
    ForumTopic.objects.filter(id=topic_id).update(view_count=F("view_count") + 1)


# -- notifications ---------------------------------------------------------------------


def notifications_unread_count(*, user_id: uuid.UUID) -> int:
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()


def notifications_mark_read(*, user: User, notification_id: Any = None) -> int:
    """Mark one notification (or, with no id, all of them) read; every open tab of the
    member gets the new unread count."""
    with transaction.atomic():
        queryset = Notification.objects.filter(user=user, read_at__isnull=True)
        if notification_id is not None:
            try:
                queryset = queryset.filter(id=uuid.UUID(str(notification_id)))
            except ValueError as exc:
                raise NotFound("There is no such notification.") from exc
        changed = queryset.update(read_at=timezone.now())
        publish(NotificationRead(user_id=user.id, payload={
            "unread": notifications_unread_count(user_id=user.id),
            "id": str(notification_id) if notification_id else None}))
    return changed
