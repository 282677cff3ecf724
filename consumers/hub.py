"""Per-process fan-out of stream events (DESIGN.md, "Live delivery at scale").

The naive way, every socket joining the channel-layer group itself, costs one Redis
message, one receive and one JSON encode per socket per event: a 500-member room at 10
messages/s saturates a process. Here each server process (each event loop) joins a group
once, through a channel of its own for that group; an event arrives once, is encoded
once, and the pre-encoded frame goes to every local socket that follows the stream and
passes its own permission filter (e.g. a member who blocked the author).

Membership changes are serialised by one lock so a leave racing a join never leaves the
process out of a group that still has local subscribers.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from channels.layers import get_channel_layer

from domain.metrics import LIVE_DELIVERIES, LIVE_SUBSCRIPTIONS

log = logging.getLogger(__name__)

# channels-redis drops group members older than its group_expiry (a day by default): a
# hub that lives longer re-adds its groups well before that.
GROUP_REFRESH_SECONDS = 3600


class Frame:
    """One stream event encoded once for every local subscriber: its JSON text, and the
    WebSocket frame carrying it (built on first use), which is the same bytes for every
    client of a server that neither masks nor compresses (SendBuffer.write_frame)."""

    __slots__ = ("_wire", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        if self._wire is None:
            self._wire = _ws_text_frame(self.text.encode("utf-8"))
        return self._wire


def _ws_text_frame(payload: bytes) -> bytes:
    """RFC 6455 section 5.2: one unmasked final text frame."""
    size = len(payload)
    if size <= 125:
        head = bytes((0x81, size))
    elif size <= 0xFFFF:
        head = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return head + payload


class Subscriber(Protocol):
    async def push_frame(self, frame: Frame) -> None: ...


# domain.events.StreamAccessChanged: not forwarded; each local subscriber re-checks.
ACCESS_EVENT = "stream.access"


Filter = Callable[[dict[str, Any]], bool]


class _Group:
    __slots__ = ("channel", "stream", "subscribers", "task")

    def __init__(self, channel: str, stream: str) -> None:
        self.channel = channel
        self.stream = stream
        self.subscribers: dict[Subscriber, Filter | None] = {}
        self.task: asyncio.Task[None] | None = None


class StreamHub:
    """One channel per followed group per process; the group's receive loop fans out."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.groups: dict[str, _Group] = {}
        self.lock = asyncio.Lock()
        self.refresher: asyncio.Task[None] | None = None
        self.rechecks: set[asyncio.Task[None]] = set()

    async def subscribe(self, group: str, stream: str, subscriber: Subscriber,
                        allows: Filter | None = None) -> None:
        async with self.lock:
            entry = self.groups.get(group)
            if entry is None:
                # The default "specific" prefix matters: channels-redis reads every
                # process-local channel through one blocking pop on one Redis list per
                # prefix, and only the list of whichever receiver holds its lock.
                channel = await self.layer.new_channel()
                await self.layer.group_add(group, channel)
                entry = self.groups[group] = _Group(channel, stream)
                entry.task = asyncio.create_task(self._receive_loop(entry),
                                                 name=f"live-hub {group}")
                if self.refresher is None:
                    self.refresher = asyncio.create_task(self._refresh_loop(),
                                                         name="live-hub refresh")
            if subscriber not in entry.subscribers:
                LIVE_SUBSCRIPTIONS.inc()
            entry.subscribers[subscriber] = allows

    async def unsubscribe(self, group: str, subscriber: Subscriber) -> None:
        async with self.lock:
            entry = self.groups.get(group)
            if entry is None or entry.subscribers.pop(subscriber, False) is False:
                return
            LIVE_SUBSCRIPTIONS.dec()
            if entry.subscribers:
                return
            del self.groups[group]
            if entry.task is not None:
                entry.task.cancel()
            await self.layer.group_discard(group, entry.channel)

    def local_count(self, group: str) -> int:
        entry = self.groups.get(group)
        return len(entry.subscribers) if entry else 0

    async def _receive_loop(self, entry: _Group) -> None:
        while True:
            try:
                event = await self.layer.receive(entry.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Redis went away: channels-redis reconnects on the next receive.
                log.exception("live hub receive failed; retrying")
                await asyncio.sleep(1)
                continue
            await self.deliver(entry, event)

    async def deliver(self, entry: _Group, event: dict[str, Any]) -> int:
        """Send one event to every local subscriber; returns how many got it."""
        if not entry.subscribers:
            return 0
        payload = event.get("payload") or {}
        if event.get("type") == ACCESS_EVENT:
            return self._recheck(entry, str(payload.get("reason") or "access"))
        frame = Frame(json.dumps({
            "type": "event", "stream": entry.stream, "event": event.get("type"),
            "event_id": payload.get("event_id"), "payload": payload,
        }, separators=(",", ":")))
        sent = 0
        for subscriber, allows in list(entry.subscribers.items()):
            if allows is not None and not allows(payload):
                continue
            try:
                await subscriber.push_frame(frame)
                sent += 1
            except Exception:
                log.debug("dropping a frame for a closing socket", exc_info=True)
        LIVE_DELIVERIES.inc(sent)
        return sent

    def _recheck(self, entry: _Group, reason: str) -> int:
        """Who may follow the stream changed: each subscriber asks the access rules again
        (a database trip), each in a task of its own so the group's loop goes on."""
        count = 0
        for subscriber in list(entry.subscribers):
            recheck = getattr(subscriber, "stream_access_changed", None)
            if recheck is None:
                continue
            task = asyncio.create_task(recheck(entry.stream, reason))
            self.rechecks.add(task)
            task.add_done_callback(self.rechecks.discard)
            count += 1
        return count

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS)
            async with self.lock:
                for group, entry in list(self.groups.items()):
                    try:
                        await self.layer.group_add(group, entry.channel)
                    except Exception:
                        log.exception("re-adding %s failed", group)


class SendBuffer:
    """What the server still holds unsent for one socket, read from its transport.

    ASGI gives an application no backpressure on websocket.send: daphne (Twisted) buffers
    whatever a reader does not take, without bound, and uvicorn's websockets protocol
    makes the send wait instead, which would stall the hub's fan-out loop for everyone.
    So the consumer looks at the transport behind the `send` callable it was given
    (daphne: partial(server.handle_reply, protocol); uvicorn: a method of its protocol;
    either under channels' session wrapper)
    and drops a socket whose unsent bytes pass LIVE_SEND_BUFFER_BYTES. None from
    `probe` means an unknown server: no bound is enforced there."""

    __slots__ = ("protocol", "transport", "twisted")

    def __init__(self, transport: Any, twisted: bool, protocol: Any = None) -> None:
        self.transport, self.twisted, self.protocol = transport, twisted, protocol

    @classmethod
    def probe(cls, send: Any) -> SendBuffer | None:
        transport = owner = None
        for _ in range(8):
            owner = send.args[0] if isinstance(send, functools.partial) and send.args else (
                getattr(send, "__self__", None))
            transport = getattr(owner, "transport", None)
            if transport is not None:
                break
            # channels' SessionMiddleware hands the app a wrapper of the server's send.
            send = getattr(owner, "real_send", None)
            if send is None:
                return None
        if transport is None:
            return None
        if hasattr(transport, "get_write_buffer_size") and hasattr(transport, "abort"):
            return cls(transport, twisted=False)
        if all(hasattr(transport, a) for a in ("dataBuffer", "offset", "_tempDataLen",
                                               "abortConnection")):
            # The owner is daphne's WebSocketProtocol (autobahn's) when write_frame may
            # bypass it: no compression negotiated, nothing queued in its own send queue.
            fast = all(hasattr(owner, a) for a in ("state", "STATE_OPEN", "send_queue",
                                                   "_perMessageCompress")) and all(
                hasattr(transport, a) for a in ("socket", "connected", "disconnecting"))
            return cls(transport, twisted=True, protocol=owner if fast else None)
        return None

    def write_frame(self, frame: Frame) -> bool:
        """Write the hub's pre-built frame straight to daphne's transport; False when
        this socket needs the ordinary send (not daphne, not open, compressing).

        The ordinary path (channels' send, daphne's handle_reply and serverSend, then
        autobahn's sendMessage, sendFrame and sendData) encodes and frames the same
        text again for every socket and formats a debug log line each time (colouring
        included) whether or not debug is on: about 30 us a socket, which at 1,000
        members x 10 messages/s is most of a core. Autobahn's sendPreparedMessage is
        the supported form of this, and still pays the log line in sendData; this is
        sendData's own write for the case it takes here (empty send queue, no
        compression: a server frame is unmasked, the same bytes for every client)."""
        protocol = self.protocol
        if (protocol is None or protocol.state != protocol.STATE_OPEN
                or protocol.send_queue or protocol._perMessageCompress is not None):
            return False
        transport = self.transport
        if not transport.connected or transport.disconnecting:
            return False
        wire = frame.wire
        if self.unsent() == 0:
            # Nothing queued before it: straight into the kernel's buffer, as Twisted's
            # own doWrite would do one loop turn later, after an add_writer, a writable
            # callback through its log context and a remove_writer (two epoll_ctl; 17-28
            # us more a write, measured over 1,000 sockets). Whatever the kernel does
            # not take goes to Twisted's buffer as usual, so order and the unsent count
            # stay right.
            try:
                sent = transport.socket.send(wire)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                return False  # the ordinary path sees the connection go
            if sent == len(wire):
                return True
            wire = wire[sent:]
        transport.write(wire)
        return True

    def unsent(self) -> int:
        t = self.transport
        if self.twisted:
            return len(t.dataBuffer) - t.offset + t._tempDataLen
        return int(t.get_write_buffer_size())

    def abort(self) -> None:
        """Drop the connection now, unsent bytes with it (a stalled reader would never
        take them, nor the close frame queued behind them)."""
        if self.twisted:
            self.transport.abortConnection()
        else:
            self.transport.abort()


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, StreamHub] = (
    weakref.WeakKeyDictionary())


def hub() -> StreamHub:
    """The running event loop's hub (one per server process; tests get one per loop)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = StreamHub()
    return found

