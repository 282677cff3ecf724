"""The one WebSocket per browser tab: everything live for a member arrives on it.

Frames are JSON objects with a string `type`.

Client -> server:
    {"type": "ping", "id": <request id>}            -> {"type": "pong", "id": <request id>}

Server -> client:
    {"type": "hello", "payload": {"username": ...}}   once, after the socket is accepted
    {"type": "event", "payload": {...}}               a domain event for this member
    {"type": "pong", "id": ...}
    {"type": "error", "id": <request id or null>, "payload": {"code": ..., "message": ...}}

A bad frame gets an error frame and the socket stays open. A request id is an integer or a
string of at most 64 characters; it is echoed back so the client can match replies.
Anonymous and inactive users are accepted and closed at once with code 4401, so the
browser can tell "log in again" (stop retrying) from a network failure (retry).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from domain.events import user_group

log = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
MAX_FRAME_BYTES = 64 * 1024
MAX_ID_LENGTH = 64

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


def _session_key_hash(session_key: str) -> str:
    import hashlib

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


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """A transport adapter: authorizes the socket, joins the member's group, forwards."""

    joined_group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        # AuthMiddleware already turns a session of an inactive user into AnonymousUser;
        # is_active is checked again so a socket never depends on that detail.
        if user is None or not user.is_authenticated or not user.is_active:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        group = user_group(user.id)
        await self.channel_layer.group_add(group, self.channel_name)
        self.joined_group = group
        await self.accept()
        await self.send_json({"type": "hello", "payload": {"username": user.username}})

    async def disconnect(self, code: int) -> None:
        if self.joined_group is not None:
            await self.channel_layer.group_discard(self.joined_group, self.channel_name)
            self.joined_group = None

    # -- incoming frames -------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None,
                      **kwargs: Any) -> None:
        if self.joined_group is None:
            return  # refused socket: a frame may race the close; nothing to answer
        try:
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
        await handler(self, content, request_id)

    async def handle_ping(self, content: dict[str, Any], request_id: RequestId) -> None:
        await self.send_json({"type": "pong", "id": request_id})

    frame_handlers: dict[
        str, Callable[[LiveConsumer, dict[str, Any], RequestId], Awaitable[None]]
    ] = {
        "ping": handle_ping,
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

    # -- channel-layer events (domain/events.py) -------------------------------------

    async def live_event(self, event: dict[str, Any]) -> None:
        """`{"type": "live.event", "payload": {...}}` sent to the member's group."""
        await self.send_json({"type": "event", "payload": event.get("payload", {})})

    async def notification_new(self, event: dict[str, Any]) -> None:
        """domain.community.notifications.notification_send -> the member's tabs."""
        await self.send_json({"type": "notification", "payload": event["payload"]})

    async def session_revoked(self, event: dict[str, Any]) -> None:
        """A revoked session, a password change or a ban ends this socket. The payload's
        `session_key_hash` names one session; none means every session of the member."""
        target = event.get("payload", {}).get("session_key_hash")
        session = self.scope.get("session")
        own = getattr(session, "session_key", None)
        if target is None or own is None or _session_key_hash(own) == target:
            await self.close(code=CLOSE_UNAUTHORIZED)
