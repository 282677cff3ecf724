"""The one WebSocket per browser tab: everything live for a member arrives on it, and the
member follows "streams" over it instead of opening more sockets.

Frames are JSON objects: {"type", "stream"?, "id"?, "payload"?}. `id` is the client's
request id (an integer or a string of at most 64 characters), echoed in the reply or the
error so the page can match them.

Streams:
    notifications       the member's notifications and unread count (always delivered)
    inbox               the member's private messages (always delivered)
    member              the member's header figures, "member.stats" (always delivered;
                        domain/memberstats.py; not subscribable)
    chat:<room>         a chat room: messages, edits, deletions, typing, presence (the
                        subscribe reply lists "members"; then "chat.presence" events
                        {"room", "joined": [names], "left": [names]}, at most one per
                        room per LIVE_PRESENCE_COALESCE_SECONDS across every server
                        process, naming each member whose first socket arrived or last
                        one went since the previous one; consumers.presence). With
                        "watch": true in the subscribe payload the socket sees the room
                        without entering its presence list (the home page's preview).
    forum:<topic id>    new and edited posts in a forum topic, lock/sticky changes
    torrent:<id>        a torrent's live peer counts ("peers.counts")
    moderation          staff: queue items and reports appearing, claimed, resolved

Client -> server:
    {"type": "ping", "id"}                                   -> {"type": "pong", "id"}
    {"type": "subscribe", "stream", "id", "payload": {"since": <event id>, "have": [...]}?}
        -> {"type": "subscribed", "stream", "id", "event_id", "payload": {...snapshot}},
           then, with `since`, the changes the page may have missed as event frames
           (catch-up after a reconnect; see "Catch-up" below). The reply's `event_id` is
           the stream's position as of the snapshot: a page that has no last id yet
           starts from it.
    {"type": "unsubscribe", "stream", "id"}                  -> {"type": "unsubscribed", ...}
    {"type": "chat.post", "stream": "chat:<room>", "id", "payload": {"body"}}
    {"type": "chat.edit", "stream", "id", "payload": {"message_id", "body"}}
    {"type": "chat.delete", "stream", "id", "payload": {"message_id"}}
    {"type": "chat.mute", "stream", "id", "payload": {"username", "minutes", "reason"?}}
    {"type": "chat.typing", "stream"}                        (no reply)
    {"type": "chat.history", "stream", "id", "payload": {"before_id": <oldest message id>}}
        (or {"before": <event id>}: by creation time)
        -> {"type": "history", "stream", "id", "payload": {"items": [...]}}
    {"type": "forum.post", "stream": "forum:<topic>", "id", "payload": {"body", "quoted_id"?}}
    {"type": "notifications.read", "id", "payload": {"id"?}}  (no id: all)
    {"type": "moderation.claim", "id", "payload": {"kind": "queue"|"report", "id"}}
    {"type": "moderation.resolve", "id", "payload": {"id", "note", "dismiss"?}} (reports)
    Actions answer {"type": "ok", "id", "payload": {...}}.

Server -> client:
    {"type": "hello", "payload": {"username", "replay_window_ms"}}   once, after accept
    {"type": "event", "stream", "event", "event_id", "payload"}   a change on a stream
    {"type": "event", "payload": {...}}               a bare event for this member
    {"type": "notification", "stream": "notifications", "event_id", "payload"}
    {"type": "error", "id": <request id or null>, "payload": {"code": ..., "message": ...}}
    {"type": "unsubscribed", "stream", "id": null, "payload": {"reason", "code", "message"}}
        the server ended a stream the member may no longer follow (see "Losing access")
    {"type": "event", "event": "access.changed", "payload": {"reason"}}
        the member's class or status changed (after any `unsubscribed` it caused)

Catch-up. An event id is the microsecond time a row was stamped (domain.community.events),
and rows are stamped before their transaction commits: a change stamped t1 can become
visible after one stamped t2 > t1. So "everything after the last id I saw" would miss it.
Instead the page sends `since` (the highest event id it saw on the stream) and `have`: the
events it already holds stamped within the replay window before `since`, each as
"<event id>:<item id>" (the item's row id: two rows stamped in the same microsecond stay
apart), at most MAX_HAVE of them, newest first if it must choose. The server replays every
change stamped after `since` minus LIVE_CATCH_UP_SETTLE_SECONDS (`replay_window_ms` in the
hello) and leaves out the ones in `have`. A change that commits more than that window
after it was stamped can still be missed; the window is sized well above any transaction
of ours. The page also drops any event whose "<event id>:<item id>" it already holds
(a live event can race the replay that repeats it), so nothing reaches a handler twice.

Slow readers. Frames a socket's reader has not taken wait in the server's buffer for it;
when the unsent bytes pass LIVE_SEND_BUFFER_BYTES as a stream event is due, the socket is
closed with code 4008 (reason "too slow: <n> bytes unsent") and, as a reader that stopped
never gets to that close frame, its connection is cut TOO_SLOW_GRACE_SECONDS later (the
browser then reports 1006). Either way live.js reconnects with backoff and catches up;
nobody else waits for that socket.

A bad, oversize, too fast or forbidden frame gets an error frame and the socket stays
open. Every subscribe and action re-reads the member and asks the same access rules the
pages use. Anonymous and inactive users, and sockets from a banned address, are accepted
and closed at once with code 4401, so the browser can tell "log in again" (stop retrying)
from a network failure (retry). A member who already has LIVE_MAX_SOCKETS_PER_MEMBER
sockets open (every process counted; consumers.socketcap) gets the new one closed at once
with code 4429; live.js then retries slowly.

Losing access. A stream is authorized at subscribe and again whenever access may have
changed: a class or status change (domain.events.AccessChanged to the member's group,
from domain.accounts.services' take-effect functions, whichever path made the change)
makes every open socket of the member re-check each stream it follows at once; a topic
moved or deleted (StreamAccessChanged to the stream's group) makes each socket following
it re-check that one. A stream now refused is left and the page sent `unsubscribed` with
the reason ("group", "status", "moved", "deleted"); a member no longer active loses the
socket (4401). Moderation events reach only sockets whose member may work them: reports
with REPORTS_HANDLE, queue items with MODERATION_QUEUE.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from consumers import presence, streams
from consumers.batch import batched
from consumers.hub import Frame, SendBuffer, hub
from consumers.socketcap import socket_claim, socket_release
from domain.accounts.models import User
from domain.accounts.permissions import Perm, user_has_perm
from domain.accounts.sessions import ENROL_REQUIRED_KEY
from domain.community import access, selectors
from domain.community.events import event_id, event_id_parse
from domain.community.models import ChatRoom, MemberBlock
from domain.community.selectors import REPLAY_LIMIT, user_for_socket
from domain.community.services import (
    CHAT_MESSAGE_EVENT,
    chat_member_mute,
    chat_message_delete,
    chat_message_edit,
    chat_message_post,
    forum_post_create,
    notifications_mark_read,
)
from domain.errors import DomainError, NotFound
from domain.events import (
    ChatMessagePayload,
    ChatTyping,
    publish_now,
    user_group,
)
from domain.metrics import LIVE_SOCKETS
from domain.moderation import feed as moderation_feed
from domain.moderation.feed import report_resolve
from domain.moderation.selectors import ip_ban_reason

log = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
# The member already has LIVE_MAX_SOCKETS_PER_MEMBER sockets open (consumers.socketcap).
CLOSE_TOO_MANY_SOCKETS = 4429
# A reader that fell LIVE_SEND_BUFFER_BYTES behind (see "Slow readers" above).
CLOSE_TOO_SLOW = 4008
TOO_SLOW_GRACE_SECONDS = 2.0
MAX_FRAME_BYTES = 64 * 1024
MAX_ID_LENGTH = 64
MAX_STREAM_LENGTH = 100
# A subscribe's `have` list: at most this many "<event id>:<item id>" entries.
MAX_HAVE = 500
_HAVE_ENTRY = re.compile(r"\d{17}:[0-9A-Za-z-]{1,64}")
TYPING_EVERY_SECONDS = 2.0

RequestId = int | str | None


class FrameError(Exception):
    """A frame the server cannot act on; becomes an error frame, never a closed socket."""

    def __init__(self, code: str, message: str, request_id: RequestId = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


class _BadJson:
    """What decode_json returns for text that is not JSON (it must not raise)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _SocketGone(Exception):
    """The member behind the socket is no longer active: the socket closes."""


def _session_key_hash(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def _frame_too_large(text: str) -> bool:
    # Each character is 1-4 bytes in UTF-8: encode only when the length alone cannot decide.
    if len(text) > MAX_FRAME_BYTES:
        return True
    if len(text) * 4 <= MAX_FRAME_BYTES:
        return False
    return len(text.encode("utf-8", errors="surrogatepass")) > MAX_FRAME_BYTES


def _request_id(content: dict[str, Any]) -> RequestId:
    request_id = content.get("id")
    if request_id is None:
        return None
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        raise FrameError("invalid_id", "A request id must be an integer or a string.")
    if isinstance(request_id, str) and len(request_id) > MAX_ID_LENGTH:
        raise FrameError("invalid_id", f"A request id is at most {MAX_ID_LENGTH} characters.")
    return request_id


class _TokenBucket:
    """A per-socket frame budget: a burst, refilled at a steady rate."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, burst: int, rate: float) -> None:
        self.burst, self.rate = float(burst), rate
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def parse_stream(value: Any, request_id: RequestId) -> tuple[str, str]:
    """("chat", "general") for "chat:general"; FrameError for anything unknown (the kinds
    and their arguments: consumers.streams.STREAM_KINDS)."""
    if not isinstance(value, str) or not value or len(value) > MAX_STREAM_LENGTH:
        raise FrameError("bad_stream", "A frame needs a \"stream\" name.", request_id)
    parsed = streams.parse(value)
    if parsed is None:
        raise FrameError("bad_stream", f"Unknown stream {value[:64]!r}.", request_id)
    return parsed


def _have(payload: dict[str, Any], request_id: RequestId) -> frozenset[str]:
    """The subscribe payload's `have` list as a set; FrameError unless well formed."""
    have = payload.get("have")
    if have is None:
        return frozenset()
    if not isinstance(have, list):
        raise FrameError("bad_have", "\"have\" must be a list.", request_id)
    if len(have) > MAX_HAVE:
        raise FrameError("bad_have", f"\"have\" lists at most {MAX_HAVE} events.",
                         request_id)
    if not all(isinstance(entry, str) and _HAVE_ENTRY.fullmatch(entry) for entry in have):
        raise FrameError("bad_have", "\"have\" entries are \"<event id>:<item id>\".",
                         request_id)
    return frozenset(have)


def event_key(item: Mapping[str, Any]) -> str:
    """How the page and the server name one event of an item: "<event id>:<item id>"."""
    return f"{item.get('event_id')}:{item.get('id')}"


def _payload(content: dict[str, Any], request_id: RequestId) -> dict[str, Any]:
    payload = content.get("payload")
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise FrameError("bad_frame", "\"payload\" must be a JSON object.", request_id)
    return payload


Handler = Callable[["LiveConsumer", dict[str, Any], RequestId], Awaitable[None]]


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """A transport adapter: authorizes the socket, joins the member's group, multiplexes
    streams (through the process's StreamHub) and turns actions into service calls."""

    joined_group: str | None = None
    claimed = False  # counted by consumers.socketcap
    send_buffer: SendBuffer | None = None
    too_slow = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        # AuthMiddleware already turns a session of an inactive user into AnonymousUser;
        # is_active is checked again so a socket never depends on that detail.
        if user is None or not user.is_authenticated or not user.is_active:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        if self.scope.get("session", {}).get(ENROL_REQUIRED_KEY):
            # Staff logged in with the password alone: as on the pages, nothing but the
            # enrolment, and nothing live (the moderation stream, chat moderation).
            await self.accept()
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        client = self.scope.get("client")
        # As on the pages (AccountGuardMiddleware): a banned address gets nothing live. The
        # address is the real client's behind a trusted proxy (server/proxy.py).
        if client and await database_sync_to_async(ip_ban_reason)(client[0]) is not None:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        if not await socket_claim(user.id, self.channel_name):
            await self.accept()
            await self.close(code=CLOSE_TOO_MANY_SOCKETS,
                             reason=f"at most {settings.LIVE_MAX_SOCKETS_PER_MEMBER} "
                                    "open sockets per member")
            return
        self.claimed = True
        self.user_id = user.id
        self.username = user.username
        self.streams: dict[str, str] = {}  # stream name -> group it follows through the hub
        # Presence streams followed with "watch": shown on a page, not entered (the home
        # page's chat preview does not put the member in the room's presence list).
        self.watching: set[str] = set()
        self.blocked: set[str] = set()
        # Which moderation events this socket may receive ("queue", "report"), as of the
        # member's permissions at the last subscribe or re-authorization.
        self.moderation_kinds: frozenset[str] = frozenset()
        self.bucket = _TokenBucket(settings.LIVE_FRAME_BURST, settings.LIVE_FRAMES_PER_SECOND)
        self.last_typing = 0.0
        group = user_group(user.id)
        await self.channel_layer.group_add(group, self.channel_name)
        self.joined_group = group
        await self.accept()
        LIVE_SOCKETS.inc()
        self.send_buffer = SendBuffer.probe(self.base_send)
        await self.send_json({"type": "hello", "payload": {
            "username": user.username,
            "replay_window_ms": int(settings.LIVE_CATCH_UP_SETTLE_SECONDS * 1000)}})

    async def dispatch(self, message: dict[str, Any]) -> None:
        """channels' own dispatch first runs close_old_connections on the database thread
        for every message: one more trip queued on that one thread per frame, a storm's
        worth in a storm. Every database call here goes through database_sync_to_async,
        which closes stale connections itself, before and after."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def disconnect(self, code: int) -> None:
        if self.claimed:
            self.claimed = False
            await socket_release(self.user_id, self.channel_name)
        if self.joined_group is None:
            return
        await self.channel_layer.group_discard(self.joined_group, self.channel_name)
        self.joined_group = None
        LIVE_SOCKETS.dec()
        for stream in list(self.streams):
            try:
                await self._unsubscribe(stream)
            except Exception:
                log.exception("leaving %s on disconnect failed", stream)

    async def push_frame(self, frame: Frame) -> None:
        """The hub's way in: one frame, encoded once for every local subscriber. Checked
        before the send, so a server whose send waits on a full buffer never makes the
        hub wait on this socket."""
        if self.too_slow:
            return
        buffer = self.send_buffer
        if buffer is not None and buffer.unsent() > settings.LIVE_SEND_BUFFER_BYTES:
            await self._drop_too_slow(buffer)
            return
        if buffer is None or not buffer.write_frame(frame):
            await self.send(text_data=frame.text)

    async def _drop_too_slow(self, buffer: SendBuffer) -> None:
        self.too_slow = True
        unsent = buffer.unsent()
        log.info("dropping a socket of %s: %d bytes unsent", self.username, unsent)
        await self.close(code=CLOSE_TOO_SLOW, reason=f"too slow: {unsent} bytes unsent")
        # The close frame waits behind the unsent bytes: a reader that takes nothing
        # more never sees it, and its connection is cut.
        asyncio.get_running_loop().call_later(TOO_SLOW_GRACE_SECONDS, _abort_quietly, buffer)

    # -- incoming frames -------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None,
                      **kwargs: Any) -> None:
        if self.joined_group is None:
            return  # refused socket: a frame may race the close; nothing to answer
        try:
            if not self.bucket.take():
                raise FrameError("rate_limited", "Too many frames; slow down.")
            if text_data is None:
                raise FrameError("binary_unsupported", "Frames must be JSON text.")
            if _frame_too_large(text_data):
                raise FrameError(
                    "too_large", f"Frames are limited to {MAX_FRAME_BYTES} bytes."
                )
            content = await self.decode_json(text_data)
            if isinstance(content, _BadJson):
                raise FrameError("bad_json", "The frame is not valid JSON.")
            await self.receive_json(content, **kwargs)
        except FrameError as exc:
            await self.send_error(exc.code, exc.message, exc.request_id)
        except _SocketGone:
            await self.close(code=CLOSE_UNAUTHORIZED)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            raise FrameError("bad_frame", "A frame must be a JSON object.")
        request_id = _request_id(content)
        frame_type = content.get("type")
        if not isinstance(frame_type, str):
            raise FrameError("bad_frame", "A frame needs a string \"type\".", request_id)
        handler = self.frame_handlers.get(frame_type)
        if handler is None:
            raise FrameError(
                "unknown_type", f"Unknown frame type {frame_type[:64]!r}.", request_id
            )
        try:
            await handler(self, content, request_id)
        except DomainError as exc:
            await self.send_error(exc.code, exc.message, request_id)

    async def handle_ping(self, content: dict[str, Any], request_id: RequestId) -> None:
        await self.send_json({"type": "pong", "id": request_id})

    async def _fresh_user(self) -> Any:
        """The member as the database has them now: a ban, a disabled account or a group
        change since the socket opened counts from the next frame on."""
        user = await database_sync_to_async(user_for_socket)(self.user_id)
        if user is None:
            raise _SocketGone
        return user

    # -- streams ---------------------------------------------------------------------

    async def handle_subscribe(self, content: dict[str, Any], request_id: RequestId) -> None:
        stream = content.get("stream")
        kind, arg = parse_stream(stream, request_id)
        assert isinstance(stream, str)
        payload = _payload(content, request_id)
        since = None
        if payload.get("since") is not None:
            since = event_id_parse(payload["since"])
            if since is None:
                raise FrameError("bad_since", "\"since\" must be an event id.", request_id)
            # Rows stamped before `since` may have committed after it (see "Catch-up").
            since -= timedelta(seconds=settings.LIVE_CATCH_UP_SETTLE_SECONDS)
        have = _have(payload, request_id)
        watch = payload.get("watch", False)
        if not isinstance(watch, bool):
            raise FrameError("bad_watch", "\"watch\" must be true or false.", request_id)
        if stream not in self.streams and len(self.streams) >= settings.LIVE_MAX_STREAMS:
            raise FrameError("too_many_streams",
                             f"A socket follows at most {settings.LIVE_MAX_STREAMS} streams.",
                             request_id)
        # The member, the access check and the block list in one trip to the database
        # thread, shared with every subscribe waiting meanwhile (a join storm queues them
        # all on that one thread; consumers.batch).
        opened = await batched(_open_streams)((self.user_id, kind, arg))
        if opened is None:
            raise _SocketGone
        user, snapshot, blocked = opened
        if blocked is not None:
            self.blocked = blocked
        self.moderation_kinds = moderation_kinds(user)
        spec = streams.STREAM_KINDS[kind]
        group = spec.group(arg) if spec.group is not None else None
        new = stream not in self.streams
        # The hub first: a presence frame sent after the member list below was read
        # reaches this socket.
        if group is not None and new:
            allows = {"blocks": self._not_blocked,
                      "permissions": self._moderation_allows}.get(spec.filter)
            await hub().subscribe(group, stream, self, allows)
        # The replay is read after joining the group, so nothing falls between the two;
        # an event that arrives live and again in the replay has the same key, and the
        # page keeps the first. Up to len(have) replayed rows are ones the page holds:
        # read that many more, so the limit still leaves REPLAY_LIMIT new ones. It is read
        # while the presence round below runs, not after it (in a join storm each
        # subscribe waited for a presence round and then a database batch in turn).
        position = event_id(timezone.now())
        reading = asyncio.ensure_future(
            batched(_replays)((user, kind, arg, since, REPLAY_LIMIT + len(have))))
        # The first subscribe decides whether this socket is in the room or only watches.
        enters = spec.presence and not (stream in self.watching if not new else watch)
        if spec.presence:
            try:
                snapshot["members"] = await (presence.presence_join(arg, self.username)
                                             if new and enters
                                             else presence.presence_members(arg))
            except BaseException:
                reading.cancel()
                # Its own failure, if it had one, is not the one to report.
                reading.add_done_callback(lambda t: t.cancelled() or t.exception())
                if group is not None and new:
                    await hub().unsubscribe(group, self)
                raise
        self.streams[stream] = group or ""
        if new and spec.presence and not enters:
            self.watching.add(stream)
        replay = await reading
        if have:
            replay = [(t, item) for t, item in replay if event_key(item) not in have]
        await self.send_json({"type": "subscribed", "stream": stream, "id": request_id,
                              "event_id": position, "payload": snapshot})
        for event_type, item in replay[:REPLAY_LIMIT]:
            await self.send_json({"type": "event", "stream": stream, "event": event_type,
                                  "event_id": item.get("event_id"), "payload": item})

    async def handle_unsubscribe(self, content: dict[str, Any], request_id: RequestId
                                 ) -> None:
        stream = content.get("stream")
        parse_stream(stream, request_id)
        assert isinstance(stream, str)
        if stream not in self.streams:
            raise FrameError("not_subscribed", "You do not follow that stream.", request_id)
        await self._unsubscribe(stream)
        await self.send_json({"type": "unsubscribed", "stream": stream, "id": request_id})

    async def _unsubscribe(self, stream: str) -> None:
        group = self.streams.pop(stream, "")
        if group:
            await hub().unsubscribe(group, self)
        kind, _, arg = stream.partition(":")
        if stream in self.watching:
            self.watching.discard(stream)
        elif streams.STREAM_KINDS[kind].presence:
            await presence.presence_leave(arg, self.username)

    def _not_blocked(self, payload: dict[str, Any]) -> bool:
        return payload.get("user_id") not in self.blocked

    def _moderation_allows(self, payload: dict[str, Any]) -> bool:
        """Reports go to report handlers, queue items (uploads, auto-flags, appeals) to
        queue moderators: each moderation event only to those who may work it."""
        return moderation_event_kind(payload) in self.moderation_kinds

    # -- live re-authorization (domain.events.AccessChanged, StreamAccessChanged) -------

    async def reauthorize(self, streams: Sequence[str] | None = None, *,
                          reason: str = "access") -> bool:
        """Ask the access rules again, now, for the followed `streams` (default: all):
        each one now refused is left and the page told {"type": "unsubscribed", "stream",
        "id": null, "payload": {"reason", "code", "message"}}; a member no longer active
        loses the socket (4401). Returns whether the socket stays open."""
        if self.joined_group is None:
            return False
        names = [s for s in (self.streams if streams is None else streams)
                 if s in self.streams]
        checked = await database_sync_to_async(_recheck_streams)(self.user_id, names)
        if checked is None:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return False
        user, refused = checked
        self.moderation_kinds = moderation_kinds(user)
        for stream, (code, message) in refused.items():
            if stream not in self.streams:
                continue  # left meanwhile
            await self._unsubscribe(stream)
            await self.send_json({"type": "unsubscribed", "stream": stream, "id": None,
                                  "payload": {"reason": reason, "code": code,
                                              "message": message}})
        return True

    async def stream_access_changed(self, stream: str, reason: str) -> None:
        """The hub's call when who may follow `stream` changed (a topic moved)."""
        try:
            await self.reauthorize([stream], reason=reason)
        except Exception:
            log.exception("re-authorizing %s failed", stream)

    def _require_stream(self, content: dict[str, Any], request_id: RequestId,
                        kind: str) -> str:
        found_kind, arg = parse_stream(content.get("stream"), request_id)
        if found_kind != kind:
            raise FrameError("bad_stream", f"This action needs a {kind} stream.", request_id)
        return arg

    # -- actions: each parses, re-reads the member and calls one service --------------

    async def _ok(self, request_id: RequestId, payload: dict[str, Any]) -> None:
        await self.send_json({"type": "ok", "id": request_id, "payload": payload})

    async def handle_chat_post(self, content: dict[str, Any], request_id: RequestId) -> None:
        room = self._require_stream(content, request_id, "chat")
        body = _payload(content, request_id).get("body")
        user = await self._fresh_user()
        message = await database_sync_to_async(chat_message_post)(
            user=user, room_name=room, body=body)
        await self._ok(request_id, {"id": str(message.id)})

    async def handle_chat_edit(self, content: dict[str, Any], request_id: RequestId) -> None:
        payload = _payload(content, request_id)
        user = await self._fresh_user()
        message = await database_sync_to_async(chat_message_edit)(
            user=user, message_id=payload.get("message_id"), body=payload.get("body"))
        await self._ok(request_id, {"id": str(message.id)})

    async def handle_chat_delete(self, content: dict[str, Any], request_id: RequestId
                                 ) -> None:
        payload = _payload(content, request_id)
        user = await self._fresh_user()
        message = await database_sync_to_async(chat_message_delete)(
            user=user, message_id=payload.get("message_id"))
        await self._ok(request_id, {"id": str(message.id)})

    async def handle_chat_mute(self, content: dict[str, Any], request_id: RequestId) -> None:
        room = self._require_stream(content, request_id, "chat")
        payload = _payload(content, request_id)
        user = await self._fresh_user()
        mute = await database_sync_to_async(chat_member_mute)(
            actor=user, username=str(payload.get("username", "")), room_name=room,
            minutes=payload.get("minutes"), reason=str(payload.get("reason", "")))
        await self._ok(request_id, {"until": mute.expires_at.isoformat()})

    async def handle_chat_typing(self, content: dict[str, Any], request_id: RequestId
                                 ) -> None:
        room = self._require_stream(content, request_id, "chat")
        stream = f"chat:{room}"
        if stream not in self.streams:
            raise FrameError("not_subscribed", "Join the room first.", request_id)
        now = time.monotonic()
        if now - self.last_typing < TYPING_EVERY_SECONDS:
            return  # a typing hint is advisory: extra ones are dropped silently
        self.last_typing = now
        await publish_now(ChatTyping(room=room, payload={
            "room": room, "user_id": str(self.user_id), "username": self.username}))

    async def handle_chat_history(self, content: dict[str, Any], request_id: RequestId
                                  ) -> None:
        room = self._require_stream(content, request_id, "chat")
        payload = _payload(content, request_id)
        before = payload.get("before")
        before_at = event_id_parse(before) if before is not None else None
        if before is not None and before_at is None:
            raise FrameError("bad_before", "\"before\" must be an event id.", request_id)
        before_id = payload.get("before_id")  # the cursor: the oldest message the page has
        if before_id is not None and not isinstance(before_id, str):
            raise FrameError("bad_before", "\"before_id\" must be a message id.", request_id)
        user = await self._fresh_user()
        items = await database_sync_to_async(_chat_history)(user, room, before_at,
                                                            before_id)
        await self.send_json({"type": "history", "stream": f"chat:{room}", "id": request_id,
                              "payload": {"items": items}})

    async def handle_forum_post(self, content: dict[str, Any], request_id: RequestId) -> None:
        topic_id = self._require_stream(content, request_id, "forum")
        payload = _payload(content, request_id)
        user = await self._fresh_user()
        post = await database_sync_to_async(forum_post_create)(
            user=user, topic_id=topic_id, body=payload.get("body"),
            quoted_id=payload.get("quoted_id"))
        await self._ok(request_id, {"id": str(post.id)})

    async def handle_notifications_read(self, content: dict[str, Any],
                                        request_id: RequestId) -> None:
        payload = _payload(content, request_id)
        user = await self._fresh_user()
        changed = await database_sync_to_async(notifications_mark_read)(
            user=user, notification_id=payload.get("id"))
        await self._ok(request_id, {"marked": changed})

    async def handle_moderation_claim(self, content: dict[str, Any],
                                      request_id: RequestId) -> None:
        payload = _payload(content, request_id)
        kind = payload.get("kind")
        if kind not in ("queue", "report"):
            raise FrameError("bad_kind", "\"kind\" is \"queue\" or \"report\".", request_id)
        user = await self._fresh_user()
        if kind == "queue":
            item: Any = await database_sync_to_async(moderation_feed.moderation_item_claim)(
                actor=user, item_id=payload.get("id"))
        else:
            item = await database_sync_to_async(moderation_feed.report_claim)(
                actor=user, report_id=payload.get("id"))
        await self._ok(request_id, {"id": str(item.id), "status": item.status})

    async def handle_moderation_resolve(self, content: dict[str, Any],
                                        request_id: RequestId) -> None:
        payload = _payload(content, request_id)
        user = await self._fresh_user()
        report = await database_sync_to_async(report_resolve)(
            actor=user, report_id=payload.get("id"), dismiss=bool(payload.get("dismiss")),
            note=str(payload.get("note", "")))
        await self._ok(request_id, {"id": str(report.id), "status": report.status})

    frame_handlers: dict[str, Handler] = {
        "ping": handle_ping,
        "subscribe": handle_subscribe,
        "unsubscribe": handle_unsubscribe,
        "chat.post": handle_chat_post,
        "chat.edit": handle_chat_edit,
        "chat.delete": handle_chat_delete,
        "chat.mute": handle_chat_mute,
        "chat.typing": handle_chat_typing,
        "chat.history": handle_chat_history,
        "forum.post": handle_forum_post,
        "notifications.read": handle_notifications_read,
        "moderation.claim": handle_moderation_claim,
        "moderation.resolve": handle_moderation_resolve,
    }

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return json.loads(text_data)
        except (ValueError, RecursionError) as exc:
            # ValueError covers JSONDecodeError and invalid surrogates; RecursionError a
            # deeply nested document. Neither may take the socket down.
            return _BadJson(str(exc))

    async def send_error(self, code: str, message: str, request_id: RequestId = None) -> None:
        await self.send_json(
            {"type": "error", "id": request_id, "payload": {"code": code, "message": message}}
        )

    # -- channel-layer events on the member's own group (domain/events.py) -------------

    async def live_event(self, event: dict[str, Any]) -> None:
        """`{"type": "live.event", "payload": {...}}` sent to the member's group."""
        await self.send_json({"type": "event", "payload": event.get("payload", {})})

    async def notification_new(self, event: dict[str, Any]) -> None:
        """domain.community.notifications.notification_send -> the member's tabs."""
        payload = event["payload"]
        await self.send_json({"type": "notification", "stream": "notifications",
                              "event_id": payload.get("event_id"), "payload": payload})

    async def notification_read(self, event: dict[str, Any]) -> None:
        await self._own_event("notifications", event)

    async def pm_new(self, event: dict[str, Any]) -> None:
        await self._own_event("inbox", event)

    async def pm_read(self, event: dict[str, Any]) -> None:
        await self._own_event("inbox", event)

    async def member_stats(self, event: dict[str, Any]) -> None:
        await self._own_event("member", event)

    async def _own_event(self, stream: str, event: dict[str, Any]) -> None:
        payload = event.get("payload", {})
        await self.send_json({"type": "event", "stream": stream, "event": event["type"],
                              "event_id": payload.get("event_id"), "payload": payload})

    async def access_changed(self, event: dict[str, Any]) -> None:
        """The member's class or status changed (domain.accounts.services'
        group_take_effect / status_take_effect): every followed stream is checked again
        at once, then the page gets the event (it may redraw what the class shows)."""
        payload = event.get("payload", {})
        if await self.reauthorize(reason=str(payload.get("reason") or "access")):
            await self.send_json({"type": "event", "event": "access.changed",
                                  "payload": payload})

    async def session_revoked(self, event: dict[str, Any]) -> None:
        """A revoked session, a password change or a ban ends this socket. The payload's
        `session_key_hash` names one session; none means every session of the member."""
        target = event.get("payload", {}).get("session_key_hash")
        session = self.scope.get("session")
        own = getattr(session, "session_key", None)
        if target is None or own is None or _session_key_hash(own) == target:
            await self.close(code=CLOSE_UNAUTHORIZED)


def _abort_quietly(buffer: SendBuffer) -> None:
    try:
        buffer.abort()
    except Exception:
        log.debug("aborting a closed connection", exc_info=True)


# -- database work, run in the sync thread --------------------------------------------


def moderation_kinds(user: Any) -> frozenset[str]:
    """The moderation events `user` may receive: "queue" with MODERATION_QUEUE, "report"
    with REPORTS_HANDLE (as moderation_feed_open shows them)."""
    kinds = set()
    if user_has_perm(user, Perm.MODERATION_QUEUE):
        kinds.add("queue")
    if user_has_perm(user, Perm.REPORTS_HANDLE):
        kinds.add("report")
    return frozenset(kinds)


def moderation_event_kind(payload: Mapping[str, Any]) -> str:
    # The catalog's upload events carry no "kind": they are queue items.
    return "report" if payload.get("kind") == "report" else "queue"


def _recheck_streams(user_id: Any, names: Sequence[str]
                     ) -> tuple[Any, dict[str, tuple[str, str]]] | None:
    """The fresh member and, per stream they may no longer follow, the refusal's (code,
    message); None when the member is no longer active."""
    user = user_for_socket(user_id)
    if user is None:
        return None
    refused: dict[str, tuple[str, str]] = {}
    for stream in names:
        kind, _, arg = stream.partition(":")
        try:
            streams.STREAM_KINDS[kind].check(user, arg)
        except DomainError as exc:
            refused[stream] = (exc.code, exc.message)
    return user, refused


def _authorize(user: Any, kind: str, arg: str) -> dict[str, Any]:
    """Raise a DomainError unless `user` may follow the stream; return its snapshot."""
    return streams.STREAM_KINDS[kind].authorize(user, arg)


def _open_streams(requests: Sequence[tuple[Any, str, str]]
                  ) -> list[tuple[Any, dict[str, Any], set[str] | None] | BaseException | None]:
    """For each (user id, kind, arg): the fresh member's (user, snapshot, blocked ids for
    streams filtered by blocks), None when the member is gone (inactive or deleted), or
    the DomainError that refuses the stream; one query per kind for the whole batch
    (consumers.batch)."""
    users = {u.id: u for u in User.objects.select_related("group")
             .filter(id__in={user_id for user_id, _, _ in requests})}
    names = {arg[:64] for _, kind, arg in requests if kind == "chat"}
    rooms = ({r.name: r for r in ChatRoom.objects.filter(name__in=names, is_active=True)}
             if names else {})
    filtered = {user_id for user_id, kind, _ in requests
                if streams.STREAM_KINDS[kind].filter == "blocks"}
    blocks: dict[Any, set[str]] = defaultdict(set)
    if filtered:
        for user_id, blocked_id in (MemberBlock.objects.filter(user_id__in=filtered)
                                    .values_list("user_id", "blocked_id")):
            blocks[user_id].add(str(blocked_id))
    results: list[tuple[Any, dict[str, Any], set[str] | None] | BaseException | None] = []
    for user_id, kind, arg in requests:
        user = users.get(user_id)
        if user is None or not user.is_active:
            results.append(None)
            continue
        try:
            if kind == "chat":
                # domain.community.selectors.chat_room_get, for a batch of members.
                room = rooms.get(arg[:64])
                if room is None or not access.chat_room_can_read(user, room):
                    raise NotFound("There is no such chat room.")
                snapshot = {"room": room.name, "max_length": room.max_message_length}
            else:
                snapshot = _authorize(user, kind, arg)
        except DomainError as exc:
            results.append(exc)
            continue
        blocked = (set(blocks.get(user.id, ()))
                   if streams.STREAM_KINDS[kind].filter == "blocks" else None)
        results.append((user, snapshot, blocked))
    return results


def _replays(requests: Sequence[tuple[Any, str, str, Any, int]]
             ) -> list[list[tuple[str, Mapping[str, Any]]] | BaseException]:
    """_replay for a batch of (user, kind, arg, since, limit). Chat rooms, the storm case,
    are read once per room: the recent history for those with nothing to catch up, and
    one read of the changes since the earliest `since` for the others, cut per request
    (a read that hit its limit may lack what a later `since` needs: those are read alone).
    """
    results: list[list[tuple[str, Mapping[str, Any]]] | BaseException | None] = (
        [None] * len(requests))
    chat: dict[str, list[int]] = {}
    for n, (user, kind, arg, since, limit) in enumerate(requests):
        if kind == "chat":
            chat.setdefault(arg[:64], []).append(n)
        else:
            try:
                results[n] = _replay(user, kind, arg, since, limit)
            except DomainError as exc:
                results[n] = exc
    rooms = ({r.name: r for r in ChatRoom.objects.filter(name__in=list(chat), is_active=True)}
             if chat else {})
    for name, indexes in chat.items():
        room = rooms.get(name)
        readers = []
        for n in indexes:
            user = requests[n][0]
            if room is None or not access.chat_room_can_read(user, room):
                results[n] = NotFound("There is no such chat room.")
            else:
                readers.append(n)
        if not readers or room is None:
            continue
        fresh = [n for n in readers if requests[n][3] is None]
        if fresh:
            history = selectors.chat_history(requests[fresh[0]][0], room)
            for n in fresh:
                results[n] = [(CHAT_MESSAGE_EVENT, p) for p in history]
        behind = [n for n in readers if requests[n][3] is not None]
        if not behind:
            continue
        earliest = min(requests[n][3] for n in behind)
        limit = max(requests[n][4] for n in behind)
        changes = selectors.chat_changes_since(requests[behind[0]][0], room, earliest,
                                               limit=limit)
        complete = len(changes) < limit
        for n in behind:
            user, _kind, _arg, since, own_limit = requests[n]
            if complete or since == earliest:
                after = event_id(since)
                results[n] = [(CHAT_MESSAGE_EVENT, p) for p in
                              [c for c in changes if c["event_id"] > after][:own_limit]]
            else:
                results[n] = [(CHAT_MESSAGE_EVENT, p) for p in
                              selectors.chat_changes_since(user, room, since, limit=own_limit)]
    return [r if r is not None else [] for r in results]


def _replay(user: Any, kind: str, arg: str, since: Any, limit: int
            ) -> list[tuple[str, Mapping[str, Any]]]:
    """The first `limit` changes on a stream after `since`, in event id order (None:
    nothing to catch up; a chat room then sends its recent history)."""
    return streams.STREAM_KINDS[kind].replay(user, arg, since, limit)


def _chat_history(user: Any, room_name: str, before: Any, before_id: Any = None
                  ) -> list[ChatMessagePayload]:
    room = selectors.chat_room_get(user, room_name)
    return selectors.chat_history(user, room, before=before, before_id=before_id)
