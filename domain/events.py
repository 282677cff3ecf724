"""The event catalog: every channel-layer group name, every event type and its payload,
declared once, and the one way anything publishes.

Each event type is a small frozen dataclass below: its `type` string (Channels turns
"chat.message" into the handler name `chat_message`), the group it goes to (derived from
its routing field: `user_id`, `room`, `topic_id`, `torrent_id`, or the staff group), and
its payload as a TypedDict. A publisher builds one and hands it to `publish` (after the
transaction commits: a rolled-back write sends nothing), `publish_many` (a batch after
commit, one thread hop) or `publish_now` (async code with no transaction to wait for: the
announce path, the socket's own hints). Nothing else calls the channel layer's
group_send (tests/domain/test_events.py holds every module to that).

Two audiences:
- MemberEvent goes to one member's own group, which every open LiveConsumer of that member
  has joined: Channels dispatches it to a handler method of the consumer, and a type with
  no handler raises there, which closes every tab of the member. The catalog test checks
  each member event type has one.
- StreamEvent goes to a stream's group (chat room, forum topic, torrent, moderation): the
  per-process hub (consumers/hub.py) receives it and forwards it whole as an "event" frame
  to the sockets following the stream, so it needs no handler.

Consumers subscribe to the groups named here and forward what their user may see.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, NotRequired, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import transaction

log = logging.getLogger(__name__)


# -- groups ------------------------------------------------------------------------------


def user_group(user_id: uuid.UUID | str) -> str:
    """Everything addressed to one member: notifications, PMs, session revocation."""
    return f"user.{user_id}"


def torrent_group(torrent_id: uuid.UUID | str) -> str:
    """Live peer counts of one torrent."""
    return f"torrent.{torrent_id}"


def chat_room_group(room_name: str) -> str:
    return f"chat.{room_name}"


def forum_topic_group(topic_id: uuid.UUID | str) -> str:
    return f"forum.topic.{topic_id}"


MODERATION_GROUP = "moderation"


# -- payloads ----------------------------------------------------------------------------
# Ids are strings (JSON); `event_id` is domain.community.events.event_id of the change.


class NotificationPayload(TypedDict):
    event_id: str
    id: str
    kind: str
    title: str
    body: str
    url: str
    created_at: str
    unread: int


class NotificationReadPayload(TypedDict):
    unread: int
    id: str | None  # None: every notification was marked read


class PmPayload(TypedDict):
    event_id: str
    id: str
    conversation_id: str
    user_id: str | None
    sender: str
    subject: str
    created_at: str
    unread: int


class PmReadPayload(TypedDict):
    conversation_id: str
    unread: int


class WarningRow(TypedDict):
    id: str
    reason: str
    points: int
    created_at: str
    expires_at: str | None
    source: str


class WarningsPayload(TypedDict):
    kind: str  # "warnings"
    points: int
    unacknowledged: list[WarningRow]
    unread: int  # the notification badge, which live.js reads off every bare event


class SessionRevokedPayload(TypedDict):
    reason: str
    # One session (UserSession.token_hash); absent: every session of the member.
    session_key_hash: NotRequired[str]


class AccessChangedPayload(TypedDict):
    # "group", "status": what changed; the sockets re-read the member either way.
    reason: str


class StreamAccessChangedPayload(TypedDict):
    # "moved" (a topic into another forum), "settings" (a room's or forum's gate).
    reason: str


class ChatMessagePayload(TypedDict):
    event_id: str
    id: str
    room: str
    user_id: str | None
    username: str
    body: str  # "" once deleted
    created_at: str
    edited: bool
    deleted: bool


class ChatTypingPayload(TypedDict):
    room: str
    user_id: str
    username: str


class ChatPresencePayload(TypedDict):
    room: str
    joined: list[str]
    left: list[str]


class ForumPostPayload(TypedDict):
    event_id: str
    id: str
    topic_id: str
    user_id: str | None
    username: str
    body: str  # "" once deleted
    quoted_id: str | None
    created_at: str
    edited: bool
    deleted: bool


class ForumTopicPayload(TypedDict):
    topic_id: str
    action: str
    is_locked: bool
    is_sticky: bool


class MemberStatsPayload(TypedDict):
    """The header's figures of one member (domain.memberstats.member_stats_read)."""

    uploaded: int
    downloaded: int
    ratio: str  # "1.23", "∞" with nothing downloaded, "—" with nothing moved at all
    bonus: str  # points, two decimals
    seeding: int
    leeching: int
    hnr: int  # active hit-and-runs


class PeersCountsPayload(TypedDict):
    torrent_id: str
    seeders: int
    leechers: int
    snatches: int


class ModerationItemPayload(TypedDict, total=False):
    """A queue item appearing (an upload awaiting review, an auto-flag, an appeal)."""

    kind: str  # "queue"
    id: str
    target_type: str
    target_id: str
    source: str
    summary: str
    status: str
    priority: int
    flags: list[str]
    claimed_by: str | None
    appeal_id: str
    url: str
    created_at: str


class ModerationReportPayload(TypedDict):
    """A report filed (or a duplicate counted on its primary), as the feed shows it."""

    kind: str  # "report"
    id: str
    target_type: str
    target_id: str
    reason: str
    status: str
    summary: str
    label: str
    url: str
    report_count: int
    claimed_by: str | None
    created_at: str
    event_id: str


class ModerationClaimedPayload(TypedDict):
    event_id: str
    kind: str  # "queue" | "report"
    id: str
    claimed_by: str


class ModerationResolvedPayload(TypedDict, total=False):
    """A queue item or report closed; a torrent's items by its target."""

    event_id: str
    kind: str
    id: str
    target_type: str
    target_id: str
    status: str
    resolved_by: str


# -- event types -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Event:
    type: ClassVar[str]
    payload: Any

    @property
    def group(self) -> str:
        raise NotImplementedError

    def message(self) -> dict[str, Any]:
        """What goes on the channel layer."""
        return {"type": self.type, "payload": self.payload}


@dataclass(frozen=True, kw_only=True)
class MemberEvent(Event):
    """To one member's own group: every LiveConsumer of theirs needs a handler for it."""

    user_id: uuid.UUID | str

    @property
    def group(self) -> str:
        return user_group(self.user_id)


@dataclass(frozen=True, kw_only=True)
class StreamEvent(Event):
    """To a stream's group: the hub forwards it to the stream's sockets."""


@dataclass(frozen=True, kw_only=True)
class NotificationNew(MemberEvent):
    type: ClassVar[str] = "notification.new"
    payload: NotificationPayload


@dataclass(frozen=True, kw_only=True)
class NotificationRead(MemberEvent):
    type: ClassVar[str] = "notification.read"
    payload: NotificationReadPayload


@dataclass(frozen=True, kw_only=True)
class PmNew(MemberEvent):
    type: ClassVar[str] = "pm.new"
    payload: PmPayload


@dataclass(frozen=True, kw_only=True)
class PmRead(MemberEvent):
    type: ClassVar[str] = "pm.read"
    payload: PmReadPayload


@dataclass(frozen=True, kw_only=True)
class WarningsChanged(MemberEvent):
    """The member's warning banner and points (a bare "event" frame on the socket)."""

    type: ClassVar[str] = "live.event"
    payload: WarningsPayload


@dataclass(frozen=True, kw_only=True)
class SessionRevoked(MemberEvent):
    """A revoked session, a password change or a ban: the socket closes."""

    type: ClassVar[str] = "session.revoked"
    payload: SessionRevokedPayload


@dataclass(frozen=True, kw_only=True)
class MemberStats(MemberEvent):
    """The member's header figures moved (transfer, bonus, peers, hit-and-runs): sent by
    beat's member_stats_publish for the members marked by member_stats_changed."""

    type: ClassVar[str] = "member.stats"
    payload: MemberStatsPayload


@dataclass(frozen=True, kw_only=True)
class AccessChanged(MemberEvent):
    """The member's group or status changed: every open socket of theirs re-authorizes
    the streams it follows at once, is told `unsubscribed` for the ones now refused, and
    closes when the member is no longer active (consumers.live)."""

    type: ClassVar[str] = "access.changed"
    payload: AccessChangedPayload


@dataclass(frozen=True, kw_only=True)
class StreamAccessChanged(StreamEvent):
    """Who may follow one stream changed (a topic moved to another forum, a room's gate
    edited): the hub does not forward it; each socket following the stream re-checks it
    (consumers.hub)."""

    type: ClassVar[str] = "stream.access"
    stream_group: str
    payload: StreamAccessChangedPayload

    @property
    def group(self) -> str:
        return self.stream_group


@dataclass(frozen=True, kw_only=True)
class ChatMessageChanged(StreamEvent):
    """A chat message posted, edited or deleted."""

    type: ClassVar[str] = "chat.message"
    room: str
    payload: ChatMessagePayload

    @property
    def group(self) -> str:
        return chat_room_group(self.room)


@dataclass(frozen=True, kw_only=True)
class ChatTyping(StreamEvent):
    type: ClassVar[str] = "chat.typing"
    room: str
    payload: ChatTypingPayload

    @property
    def group(self) -> str:
        return chat_room_group(self.room)


@dataclass(frozen=True, kw_only=True)
class ChatPresence(StreamEvent):
    type: ClassVar[str] = "chat.presence"
    room: str
    payload: ChatPresencePayload

    @property
    def group(self) -> str:
        return chat_room_group(self.room)


@dataclass(frozen=True, kw_only=True)
class ForumPostChanged(StreamEvent):
    """A forum post added, edited or deleted."""

    type: ClassVar[str] = "forum.post"
    topic_id: uuid.UUID | str
    payload: ForumPostPayload

    @property
    def group(self) -> str:
        return forum_topic_group(self.topic_id)


@dataclass(frozen=True, kw_only=True)
class ForumTopicChanged(StreamEvent):
    """A topic locked, stickied or moved."""

    type: ClassVar[str] = "forum.topic"
    topic_id: uuid.UUID | str
    payload: ForumTopicPayload

    @property
    def group(self) -> str:
        return forum_topic_group(self.topic_id)


@dataclass(frozen=True, kw_only=True)
class PeersCounts(StreamEvent):
    type: ClassVar[str] = "peers.counts"
    torrent_id: uuid.UUID | str
    payload: PeersCountsPayload

    @property
    def group(self) -> str:
        return torrent_group(self.torrent_id)


@dataclass(frozen=True, kw_only=True)
class _ModerationEvent(StreamEvent):
    @property
    def group(self) -> str:
        return MODERATION_GROUP


@dataclass(frozen=True, kw_only=True)
class ModerationItem(_ModerationEvent):
    type: ClassVar[str] = "moderation.item"
    payload: ModerationItemPayload


@dataclass(frozen=True, kw_only=True)
class ModerationReport(_ModerationEvent):
    type: ClassVar[str] = "moderation.report"
    payload: ModerationReportPayload


@dataclass(frozen=True, kw_only=True)
class ModerationClaimed(_ModerationEvent):
    type: ClassVar[str] = "moderation.claimed"
    payload: ModerationClaimedPayload


@dataclass(frozen=True, kw_only=True)
class ModerationResolved(_ModerationEvent):
    type: ClassVar[str] = "moderation.resolved"
    payload: ModerationResolvedPayload


def event_types() -> dict[str, type[Event]]:
    """Every concrete event type of the catalog, by its type string."""
    found: dict[str, type[Event]] = {}
    pending: list[type[Event]] = [Event]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        name = cls.__dict__.get("type")
        if isinstance(name, str):
            if name in found:
                raise RuntimeError(f"two event types named {name!r}")
            found[name] = cls
    return found


# -- publishing --------------------------------------------------------------------------


async def _group_send(layer: Any, group: str, message: dict[str, Any]) -> None:
    """The one call to the channel layer (tests' `published_events` fixture wraps it)."""
    await layer.group_send(group, message)


async def _send_all(layer: Any, items: list[tuple[str, dict[str, Any]]]) -> None:
    for group, message in items:
        await _group_send(layer, group, message)


def _send_batch(items: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_send_all)(layer, items)
    except Exception:
        # Live delivery is best effort: the write it reports has committed, and pages
        # catch up on reconnect. Never let Redis trouble fail the request.
        log.exception("publishing %s failed", ", ".join(
            f"{m.get('type')} to {g}" for g, m in items[:3]))


def publish(event: Event) -> None:
    """Send `event` to its group once the current transaction commits (at once outside
    one)."""
    item = [(event.group, event.message())]
    transaction.on_commit(lambda: _send_batch(item))


def publish_many(events: Iterable[Event]) -> None:
    """Send many events after commit in one pass through the event loop: a beat job's
    batch costs one thread hop, not one per event."""
    items = [(event.group, event.message()) for event in events]
    if items:
        transaction.on_commit(lambda: _send_batch(items))


async def publish_now(event: Event) -> None:
    """For async code with no transaction to wait for (the announce path's peer counts,
    the socket's typing hints, presence). Best effort, like every event."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await _group_send(layer, event.group, event.message())
    except Exception:
        log.exception("publishing %s to %s failed", event.type, event.group)



# -- member figures: marked here, published in batches -------------------------------------
# Transfer, bonus and peer figures move in bulk (a tracker flush every few seconds, an
# earning period over every seeder): one event per change would flood the member groups.
# Writers mark the members instead; beat's member_stats_publish (domain/memberstats.py)
# drains the set every MEMBER_STATS_PUBLISH_SECONDS and sends one MemberStats per member.

MEMBER_STATS_DIRTY_KEY = "member-stats:dirty"


def member_stats_cache_key(user_id: uuid.UUID | str) -> str:
    return f"member-stats:{user_id}"


def _member_stats_mark(ids: list[str]) -> None:
    try:
        # One pipeline: the set the drain pops, and the header's cached figures dropped so
        # the member's next page shows the new ones at once. Django's cache API has no
        # set type, so its own client (and key prefix, per test run) is used.
        client: Any = cache._cache.get_client(MEMBER_STATS_DIRTY_KEY, write=True)  # type: ignore[attr-defined]
        pipe = client.pipeline(transaction=False)
        pipe.sadd(cache.make_key(MEMBER_STATS_DIRTY_KEY), *ids)
        pipe.delete(*[cache.make_key(member_stats_cache_key(i)) for i in ids])
        pipe.execute()
    except Exception:
        log.exception("marking %d members' figures changed failed", len(ids))


def member_stats_changed(user_ids: Iterable[uuid.UUID | str | None]) -> None:
    """The header figures of these members moved: after commit, mark them for the next
    member_stats_publish (best effort, like every event)."""
    ids = sorted({str(u) for u in user_ids if u})
    if ids:
        transaction.on_commit(lambda: _member_stats_mark(ids))
