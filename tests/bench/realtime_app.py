"""The ASGI app `make bench-realtime` serves under daphne: the real LiveConsumer at /ws/
and, at /ws-naive/, the baseline the design notes measured: every socket joins the room's
channel-layer group itself and encodes each event for itself (same access check on
subscribe, same block filter per event)."""

from __future__ import annotations

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")

import django

django.setup()

from typing import Any  # noqa: E402

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.db import database_sync_to_async  # noqa: E402
from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from consumers.live import LiveConsumer, _authorize  # noqa: E402
from domain.community.selectors import member_blocked_ids, user_for_socket  # noqa: E402
from domain.errors import DomainError  # noqa: E402
from domain.events import chat_room_group, user_group  # noqa: E402
from server.gctuning import tune_for_server  # noqa: E402


class NaiveConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.user_id = user.id
        self.groups_joined: list[str] = [user_group(user.id)]
        await self.channel_layer.group_add(self.groups_joined[0], self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "payload": {"username": user.username}})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return json.loads(text_data)
        except (ValueError, RecursionError):
            return None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None,
                      **kwargs: Any) -> None:
        # Bad frames get an error frame, as on /ws/: the bench's garbage senders cost the
        # baseline what they cost the hub, not a traceback and a closed socket each.
        content = await self.decode_json(text_data) if text_data is not None else None
        if (not isinstance(content, dict) or content.get("type") != "subscribe"
                or not str(content.get("stream", "")).startswith("chat:")):
            await self.send_json({"type": "error", "id": None, "payload": {
                "code": "bad_frame", "message": "Only a chat subscribe is understood."}})
            return
        try:
            await self.receive_json(content)
        except DomainError as exc:
            await self.send_json({"type": "error", "id": content.get("id"), "payload": {
                "code": exc.code, "message": exc.message}})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        stream = content.get("stream", "")
        room = stream.partition(":")[2]
        user = await database_sync_to_async(user_for_socket)(self.user_id)
        snapshot = await database_sync_to_async(_authorize)(user, "chat", room)
        self.blocked = await database_sync_to_async(member_blocked_ids)(user.id)
        self.stream = stream
        group = chat_room_group(room)
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)
        await self.send_json({"type": "subscribed", "stream": stream, "id": content.get("id"),
                              "payload": snapshot})

    async def chat_message(self, event: dict[str, Any]) -> None:
        payload = event["payload"]
        if payload.get("user_id") in self.blocked:
            return
        await self.send_json({"type": "event", "stream": self.stream, "event": event["type"],
                              "event_id": payload.get("event_id"), "payload": payload})


if os.environ.get("BENCH_GC_LOG"):  # the longest collector pauses, written at exit
    import atexit
    import gc
    import time

    _gc: dict[str, Any] = {"start": 0.0, "pauses": []}

    def _gc_cb(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            _gc["start"] = time.perf_counter()
        else:
            _gc["pauses"].append((time.perf_counter() - _gc["start"], info["generation"]))

    def _gc_dump() -> None:
        pauses = sorted(_gc["pauses"], reverse=True)
        from collections import Counter

        objs = gc.get_objects()
        top = Counter(type(o).__name__ for o in objs).most_common(12)
        with open(os.environ["BENCH_GC_LOG"], "a") as f:
            f.write(f"{len(objs)} tracked objects at exit: {top}\n")
        with open(os.environ["BENCH_GC_LOG"], "a") as f:
            f.write(f"{len(pauses)} collections, total {sum(p for p, _ in pauses)*1000:.1f} ms;"
                    f" longest {[(round(p * 1000, 1), g) for p, g in pauses[:8]]}\n")

    gc.callbacks.append(_gc_cb)
    atexit.register(_gc_dump)

if os.environ.get("BENCH_SAMPLE"):
    # Where the server's time goes (py-spy is not in the venv): a thread samples every
    # thread's stack every BENCH_SAMPLE_MS and, at exit, writes the collapsed stacks
    # (flamegraph.pl input) and the functions with the most samples, own and inclusive,
    # to BENCH_SAMPLE.<pid>.
    import signal
    import sys
    import threading
    import time
    from collections import Counter

    _stacks: Counter[str] = Counter()
    _every = float(os.environ.get("BENCH_SAMPLE_MS", "5")) / 1000

    def _where(frame: Any) -> str:
        code = frame.f_code
        name = code.co_filename.split("site-packages/")[-1].split("/work/wt/")[-1]
        return f"{name}:{code.co_name}"

    def _sample() -> None:
        me = threading.get_ident()
        names: dict[int, str] = {}
        while True:
            time.sleep(_every)
            for ident, top in sys._current_frames().items():
                if ident == me:
                    continue
                if ident not in names:
                    names[ident] = next((t.name for t in threading.enumerate()
                                         if t.ident == ident), str(ident))
                parts: list[str] = []
                frame: Any = top
                while frame is not None and len(parts) < 80:
                    parts.append(_where(frame))
                    frame = frame.f_back
                _stacks[names[ident] + ";" + ";".join(reversed(parts))] += 1

    def _sample_dump() -> None:
        own: Counter[str] = Counter()
        total: Counter[str] = Counter()
        for stack, n in list(_stacks.items()):
            parts = stack.split(";")
            own[parts[0] + " " + parts[-1]] += n
            for part in set(parts[1:]):
                total[parts[0] + " " + part] += n
        count = sum(_stacks.values())
        with open(f"{os.environ['BENCH_SAMPLE']}.{os.getpid()}", "w") as f:
            f.write(f"{count} samples\nown:\n")
            for name, n in own.most_common(60):
                f.write(f"{100 * n / count:6.1f}%  {name}\n")
            f.write("inclusive:\n")
            for name, n in total.most_common(120):
                f.write(f"{100 * n / count:6.1f}%  {name}\n")
            f.write("stacks:\n")
            for stack, n in _stacks.most_common():
                f.write(f"{stack} {n}\n")

    # Where a message's latency goes, server side: publish (the bench's "sent" stamp) to
    # the hub's receive, and the hub's fan-out to every local socket.
    from consumers.hub import StreamHub

    _arrive: list[float] = []
    _fanout: list[float] = []
    _deliver = StreamHub.deliver

    async def _timed_deliver(self: Any, entry: Any, event: dict[str, Any]) -> int:
        started = time.time()
        sent = (event.get("payload") or {}).get("sent")
        count = await _deliver(self, entry, event)
        if isinstance(sent, float):
            _arrive.append(started - sent)
            _fanout.append(time.time() - started)
        return count

    StreamHub.deliver = _timed_deliver  # type: ignore[method-assign]

    def _pcts(values: list[float]) -> str:
        ordered = sorted(values)
        if not ordered:
            return "none"
        return " ".join(f"p{q}={1000 * ordered[int(q / 100 * (len(ordered) - 1))]:.1f}ms"
                        for q in (50, 90, 99, 100))

    def _sample_dump_all(*_: Any) -> None:
        _sample_dump()
        with open(f"{os.environ['BENCH_SAMPLE']}.{os.getpid()}", "a") as f:
            f.write(f"publish -> hub receive: {_pcts(_arrive)}\n"
                    f"hub fan-out: {_pcts(_fanout)}\n")

    threading.Thread(target=_sample, name="bench-sampler", daemon=True).start()
    # Written on SIGUSR2 (the bench sends it before stopping the server, whose exit may
    # not run atexit).
    signal.signal(signal.SIGUSR2, _sample_dump_all)

if os.environ.get("BENCH_TRACEMALLOC"):
    # Where idle sockets' memory goes: SIGUSR1 once marks a baseline, a second time writes
    # the allocation growth by line and the growth in live objects by type.
    import gc
    import signal
    import tracemalloc
    from collections import Counter

    tracemalloc.start(int(os.environ.get("BENCH_TRACEMALLOC_FRAMES", "1")))
    _marks: dict[str, Any] = {}

    def _count() -> Counter[str]:
        return Counter(type(o).__qualname__ for o in gc.get_objects())

    def _mark(signum: int, frame: Any) -> None:
        snapshot, counts = tracemalloc.take_snapshot(), _count()
        if "base" not in _marks:
            _marks["base"] = (snapshot, counts)
            return
        base, base_counts = _marks.pop("base")
        sockets = int(os.environ.get("BENCH_TRACEMALLOC_SOCKETS", "1"))
        stats = snapshot.compare_to(base, "traceback" if tracemalloc.get_traceback_limit() > 1
                                    else "lineno")
        total = sum(s.size_diff for s in stats)
        with open(os.environ["BENCH_TRACEMALLOC"], "w") as f:
            f.write(f"traced growth {total / 1024 / sockets:.1f} KiB per socket\n")
            for stat in stats[:40]:
                where = " <- ".join(f"{fr.filename.split('site-packages/')[-1]}:{fr.lineno}"
                                    for fr in stat.traceback)
                f.write(f"{stat.size_diff / sockets:9.0f} B {stat.count_diff / sockets:6.1f}"
                        f" blocks  {where}\n")
            f.write("objects per socket by type:\n")
            for name, n in (counts - base_counts).most_common(40):
                f.write(f"{n / sockets:8.2f}  {name}\n")

    signal.signal(signal.SIGUSR1, _mark)

application = ProtocolTypeRouter({
    "websocket": AuthMiddlewareStack(URLRouter([
        path("ws/", LiveConsumer.as_asgi()),
        path("ws-naive/", NaiveConsumer.as_asgi()),
    ])),
})

tune_for_server()  # as server/asgi.py does
