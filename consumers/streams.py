"""The stream kinds a LiveConsumer can follow, as one table (issue 19.5): per kind, how its
argument parses, which channel-layer group carries it, who may follow it (and its
subscribe snapshot), what a reconnect replays, and how its events are filtered per socket.
consumers/live.py asks here instead of branching on the kind in each step.

Everything but `parse` runs in the sync thread (database work).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from domain.accounts.permissions import Perm, user_has_perm
from domain.catalog.selectors import torrents_visible
from domain.community import selectors
from domain.community.access import moderation_feed_can_read
from domain.community.events import pm_payload
from domain.community.notifications import notification_payload
from domain.community.services import (
    CHAT_MESSAGE_EVENT,
    FORUM_POST_EVENT,
    PM_EVENT,
    notifications_unread_count,
    pm_unread_count,
)
from domain.errors import NotFound, NotPermitted
from domain.events import MODERATION_GROUP, chat_room_group, forum_topic_group, torrent_group
from domain.moderation.feed import moderation_feed_open

Replayed = list[tuple[str, Mapping[str, Any]]]


def _uuid_arg(arg: str) -> str | None:
    try:
        return str(uuid.UUID(arg))
    except ValueError:
        return None


@dataclass(frozen=True)
class StreamKind:
    """One kind of stream ("chat" in "chat:general")."""

    name: str
    # The argument after the colon, normalised, or None when it is not valid; no `arg` at
    # all: the stream takes none ("inbox").
    arg: Callable[[str], str | None] | None
    # The group its events arrive on (through the hub); None: the member's own group.
    group: Callable[[str], str] | None
    # Raises a DomainError unless the member may follow it; returns the subscribe snapshot.
    authorize: Callable[[Any, str], dict[str, Any]]
    # The first `limit` changes after `since` (None: the page has nothing to catch up).
    replay: Callable[[Any, str, Any, int], Replayed]
    # The re-check when access may have changed (consumers.live "Losing access"): raises
    # like `authorize`; the default is `authorize` itself.
    recheck: Callable[[Any, str], object] | None = None
    # Which events of the stream a socket gets: "blocks" leaves out the authors the member
    # blocked, "permissions" the moderation events they may not work.
    filter: Literal["", "blocks", "permissions"] = ""
    # The subscribe reply lists who is here, and the member counts as present.
    presence: bool = False

    def check(self, user: Any, arg: str) -> None:
        (self.recheck or self.authorize)(user, arg)


# -- chat ----------------------------------------------------------------------------------


def _chat_authorize(user: Any, arg: str) -> dict[str, Any]:
    room = selectors.chat_room_get(user, arg)
    return {"room": room.name, "max_length": room.max_message_length}


def _chat_replay(user: Any, arg: str, since: Any, limit: int) -> Replayed:
    room = selectors.chat_room_get(user, arg)
    if since is None:  # a fresh page: the room's recent history
        return [(CHAT_MESSAGE_EVENT, p) for p in selectors.chat_history(user, room)]
    return [(CHAT_MESSAGE_EVENT, p)
            for p in selectors.chat_changes_since(user, room, since, limit=limit)]


# -- forum ---------------------------------------------------------------------------------


def _forum_authorize(user: Any, arg: str) -> dict[str, Any]:
    topic = selectors.forum_topic_get(user, arg)
    return {"topic_id": str(topic.id), "is_locked": topic.is_locked}


def _forum_replay(user: Any, arg: str, since: Any, limit: int) -> Replayed:
    if since is None:
        return []
    topic = selectors.forum_topic_get(user, arg)
    return [(FORUM_POST_EVENT, p)
            for p in selectors.forum_topic_changes_since(user, topic, since, limit=limit)]


# -- torrent -------------------------------------------------------------------------------


def _torrent_authorize(user: Any, arg: str) -> dict[str, Any]:
    # The catalog's own rule (approved, one's own, everything for moderators).
    if (not user_has_perm(user, Perm.SITE_ACCESS)
            or not torrents_visible(user).filter(id=arg).exists()):
        raise NotFound("There is no such torrent.")
    return {"torrent_id": arg}


# -- moderation ----------------------------------------------------------------------------


def _moderation_recheck(user: Any, arg: str) -> None:
    # The gate alone: the feed's snapshot is not needed to decide.
    if not moderation_feed_can_read(user):
        raise NotPermitted("The moderation feed is for staff.")


# -- the member's own ----------------------------------------------------------------------


def _inbox_replay(user: Any, arg: str, since: Any, limit: int) -> Replayed:
    if since is None:
        return []
    unread = pm_unread_count(user_id=user.id)
    return [(PM_EVENT, pm_payload(m, sender_name=m.sender.username if m.sender else
                                  "[deleted]", unread=unread))
            for m in selectors.pm_changes_since(user, since, limit=limit)]


def _notifications_replay(user: Any, arg: str, since: Any, limit: int) -> Replayed:
    if since is None:
        return []
    unread = notifications_unread_count(user_id=user.id)
    return [("notification.new", notification_payload(n, unread=unread))
            for n in selectors.notifications_since(user, since, limit=limit)]


def _nothing(user: Any, arg: str, since: Any, limit: int) -> Replayed:
    return []  # torrent counts and the moderation feed come whole in the snapshot


STREAM_KINDS: dict[str, StreamKind] = {kind.name: kind for kind in (
    StreamKind("notifications", arg=None, group=None,
               authorize=lambda user, arg: {
                   "unread": notifications_unread_count(user_id=user.id)},
               replay=_notifications_replay),
    StreamKind("inbox", arg=None, group=None,
               authorize=lambda user, arg: {"unread": pm_unread_count(user_id=user.id)},
               replay=_inbox_replay),
    StreamKind("chat", arg=lambda arg: arg, group=chat_room_group,
               authorize=_chat_authorize, replay=_chat_replay, filter="blocks",
               presence=True),
    StreamKind("forum", arg=_uuid_arg, group=forum_topic_group,
               authorize=_forum_authorize, replay=_forum_replay, filter="blocks"),
    StreamKind("torrent", arg=_uuid_arg, group=torrent_group,
               authorize=_torrent_authorize, replay=_nothing),
    StreamKind("moderation", arg=None, group=lambda arg: MODERATION_GROUP,
               authorize=lambda user, arg: moderation_feed_open(user), replay=_nothing,
               recheck=_moderation_recheck, filter="permissions"),
)}


def parse(value: str) -> tuple[str, str] | None:
    """("chat", "general") for "chat:general"; None for anything unknown."""
    name, _, arg = value.partition(":")
    kind = STREAM_KINDS.get(name)
    if kind is None:
        return None
    if kind.arg is None:
        return (name, "") if not arg else None
    parsed = kind.arg(arg) if arg else None
    return (name, parsed) if parsed is not None else None
