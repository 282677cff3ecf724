"""Payloads of the community's live events and their ids.

Every event on a stream carries `event_id`: the microseconds since the epoch of the change
it reports, zero-padded so ids compare as strings too. A page that reconnects sends the
last id it saw (`since`) and the consumer replays what changed after it from the rows
themselves, so catch-up survives a Redis restart and needs no second store. Each replayed
item carries its row id: the page upserts by it, so an item seen live and again in the
replay is shown once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.community.models import ChatMessage, ForumPost, PrivateMessage
from domain.events import ChatMessagePayload, ForumPostPayload, PmPayload

EVENT_ID_DIGITS = 17


def event_id(at: datetime) -> str:
    micros = int(at.timestamp()) * 1_000_000 + at.microsecond
    return f"{micros:0{EVENT_ID_DIGITS}d}"


def event_id_parse(value: Any) -> datetime | None:
    """The moment an event id names, or None for anything that is not one."""
    if not isinstance(value, str) or len(value) != EVENT_ID_DIGITS or not value.isdigit():
        return None
    micros = int(value)
    try:
        return datetime.fromtimestamp(micros // 1_000_000, tz=UTC).replace(
            microsecond=micros % 1_000_000)
    except (OverflowError, OSError, ValueError):
        return None


def _changed_at(*stamps: datetime | None) -> datetime:
    return max(s for s in stamps if s is not None)


def chat_message_payload(message: ChatMessage, *, username: str) -> ChatMessagePayload:
    deleted = message.deleted_at is not None
    return {
        "event_id": event_id(_changed_at(message.created_at, message.edited_at,
                                         message.deleted_at)),
        "id": str(message.id),
        "room": message.room.name,
        "user_id": str(message.user_id) if message.user_id else None,
        "username": username,
        # A deleted message keeps its place in the log but no longer shows its words.
        "body": "" if deleted else message.body,
        "created_at": message.created_at.isoformat(),
        "edited": message.edited_at is not None,
        "deleted": deleted,
    }


def forum_post_payload(post: ForumPost, *, username: str) -> ForumPostPayload:
    deleted = post.deleted_at is not None
    return {
        "event_id": event_id(_changed_at(post.created_at, post.edited_at, post.deleted_at)),
        "id": str(post.id),
        "topic_id": str(post.topic_id),
        "user_id": str(post.author_id) if post.author_id else None,
        "username": username,
        "body": "" if deleted else post.body,
        "quoted_id": str(post.quoted_id) if post.quoted_id else None,
        "created_at": post.created_at.isoformat(),
        "edited": post.edited_at is not None,
        "deleted": deleted,
    }


def pm_payload(message: PrivateMessage, *, sender_name: str, unread: int) -> PmPayload:
    return {
        "event_id": event_id(message.created_at),
        "id": str(message.id),
        "conversation_id": str(message.conversation_id),
        "user_id": str(message.sender_id) if message.sender_id else None,
        "sender": sender_name,
        "subject": message.subject,
        "created_at": message.created_at.isoformat(),
        "unread": unread,
    }
