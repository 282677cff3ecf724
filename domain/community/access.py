"""Who may read or write where: forums and chat rooms are gated by the member's group rank
plus an optional permission code, on top of domain.accounts.permissions.user_has_perm.
Views, consumers and services all ask these, so the answer is the same everywhere."""

from __future__ import annotations

from typing import Any

from domain.accounts.permissions import Perm, user_has_perm
from domain.community.models import ChatRoom, Forum


def _rank(user: Any) -> int:
    return int(user.group.rank)


def _gate(user: Any, min_rank: int, required_permission: str) -> bool:
    if not user_has_perm(user, Perm.SITE_ACCESS):
        return False
    if _rank(user) < min_rank:
        return False
    return not required_permission or user_has_perm(user, required_permission)


def forum_can_read(user: Any, forum: Forum) -> bool:
    return forum.is_active and _gate(user, forum.min_rank_read, forum.required_permission)


def forum_can_post(user: Any, forum: Forum) -> bool:
    return (forum_can_read(user, forum) and _rank(user) >= forum.min_rank_write
            and user_has_perm(user, Perm.FORUM_POST))


def forum_can_create_topic(user: Any, forum: Forum) -> bool:
    return (forum_can_post(user, forum) and _rank(user) >= forum.min_rank_create_topic
            and user_has_perm(user, Perm.FORUM_TOPIC_CREATE))


def forum_can_moderate(user: Any, forum: Forum) -> bool:
    return forum_can_read(user, forum) and user_has_perm(user, Perm.FORUMS_MODERATE)


def chat_room_can_read(user: Any, room: ChatRoom) -> bool:
    return room.is_active and _gate(user, room.min_rank, room.required_permission)


def chat_room_can_post(user: Any, room: ChatRoom) -> bool:
    return chat_room_can_read(user, room) and user_has_perm(user, Perm.CHAT)


def chat_room_can_moderate(user: Any, room: ChatRoom) -> bool:
    return chat_room_can_read(user, room) and user_has_perm(user, Perm.CHAT_MODERATE)


def moderation_feed_can_read(user: Any) -> bool:
    return (user_has_perm(user, Perm.MODERATION_QUEUE)
            or user_has_perm(user, Perm.REPORTS_HANDLE))
