"""The standalone tracker's own HTTP server (Procfile `tracker`): an asyncio Protocol on
uvloop that parses requests with httptools and calls the same code as the ASGI app
(`announce.app.tracker_reply`, `metrics_reply`), without ASGI's per-request scope, message
dicts and receive/send coroutines.

    python -m announce.server --host 0.0.0.0 --port 8001 [--workers 2]

The hot path is the one place DESIGN.md lets us hand-write what a library does, when it is
measured: tests/bench/announce_bench.py runs this, uvicorn with a trivial ASGI app and
Debian's opentracker on one request sequence (figures in tests/bench/announce_results.md).
What it serves is exactly the ASGI app's: every path, status 200 with a bencoded body,
/metrics with its access rule; tests/announce runs its fixtures against both fronts.

HTTP/1.1 and 1.0, keep-alive and pipelined requests (answered in order), request bodies
read and ignored. A request head above MAX_HEAD_BYTES, or a body above MAX_BODY_BYTES, is
refused (431 / 413) and the connection closed; a connection with no complete request for
TIMEOUT_SECONDS (at its start, or idle between keep-alive requests) is closed, as
uvicorn's keep-alive timeout does. `--workers N` runs N processes on one port
(SO_REUSEPORT: the kernel spreads connections over them); they share Redis as two
`tracker` processes on two ports do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import django
import httptools
from django.apps import apps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")
if not apps.ready:
    django.setup()

from announce.app import metrics_reply, tracker_reply
from domain.tracker.cache import warm_keeper_start
from server.gctuning import tune_for_server

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 65536  # above TRACKER_QUERY_MAX_BYTES, so the app words that refusal
MAX_BODY_BYTES = 65536
MAX_PIPELINED = 64  # requests waiting on one connection before it stops being read
TIMEOUT_SECONDS = 5.0
_OK_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncache-control: no-store\r\n"
            b"content-length: %d\r\n")
_CLOSE = b"connection: close\r\n\r\n"
_KEEP = b"\r\n"
_OK_KEEP = _OK_HEAD + _KEEP  # the two 200 heads, whole but for the length
_OK_CLOSE = _OK_HEAD + _CLOSE
_REASONS = {200: b"OK", 400: b"Bad Request", 403: b"Forbidden", 413: b"Content Too Large",
            431: b"Request Header Fields Too Large", 500: b"Internal Server Error"}

_tasks: set[asyncio.Task[None]] = set()
_reply = tracker_reply


def _head(status: int, content_type: bytes, length: int, close: bool) -> bytes:
    return (b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncache-control: no-store\r\n"
            b"content-length: %d\r\n%s" % (status, _REASONS.get(status, b""), content_type,
                                          length, _CLOSE if close else _KEEP))


class TrackerProtocol(asyncio.Protocol):
    __slots__ = ("_body", "_busy", "_head_bytes", "_headers", "_in_head", "_received", "_timer",
                 "_url", "loop", "parser", "peer", "pending", "transport")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.parser = httptools.HttpRequestParser(self)
        self.transport: Any = None
        self.peer: str | None = None
        self.pending: deque[tuple[bytes, dict[bytes, bytes], bool]] = deque()
        self._url = b""
        self._headers: dict[bytes, bytes] = {}
        self._received = 0  # bytes of the request being parsed
        self._head_bytes = 0  # of its header names and values
        self._body = 0
        self._busy = False
        self._in_head = True
        self._timer: asyncio.TimerHandle | None = None

    # --- transport callbacks ---

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        peername = transport.get_extra_info("peername")
        self.peer = peername[0] if peername else None
        self._timer = self.loop.call_later(TIMEOUT_SECONDS, self._expire)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.transport = None
        self.pending.clear()

    def data_received(self, data: bytes) -> None:
        self._received += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, b"Upgrades are not served here.\n")
        except httptools.HttpParserError as exc:
            if self._received > MAX_HEAD_BYTES and self._in_head:
                self._refuse(431, b"Request head too large.\n")
            elif self._body > MAX_BODY_BYTES:
                self._refuse(413, b"Request body too large.\n")
            else:
                self._refuse(400, b"Malformed HTTP request: %s\n" % str(exc).encode())
        else:
            if self._in_head and self._received > MAX_HEAD_BYTES:
                self._refuse(431, b"Request head too large.\n")

    # --- parser callbacks ---

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = {}
        self._head_bytes = 0
        self._body = 0
        self._in_head = True

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > MAX_HEAD_BYTES:
            raise httptools.HttpParserError("URL too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.lower()] = value
        # Counted as they come (repeated names too), so a large head in one chunk is refused
        # before the request completes, without re-summing the headers kept so far.
        self._head_bytes += len(name) + len(value)
        if self._head_bytes > MAX_HEAD_BYTES:
            raise httptools.HttpParserError("head too large")

    def on_headers_complete(self) -> None:
        self._in_head = False

    def on_body(self, body: bytes) -> None:
        self._body += len(body)
        if self._body > MAX_BODY_BYTES:
            raise httptools.HttpParserError("body too large")

    def on_message_complete(self) -> None:
        self._received = 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.pending.append((self._url, self._headers, self.parser.should_keep_alive()))
        if len(self.pending) >= MAX_PIPELINED and self.transport is not None:
            self.transport.pause_reading()
        if not self._busy:
            self._busy = True
            task = self.loop.create_task(self._serve())
            _tasks.add(task)  # held until done: the loop keeps only weak references
            task.add_done_callback(_tasks.discard)

    # --- replies ---

    async def _serve(self) -> None:
        try:
            while self.pending:
                url, headers, keep_alive = self.pending.popleft()
                raw_path, _, query = url.partition(b"?")
                path = raw_path.decode("latin-1")
                if "%" in path:
                    path = unquote(path, encoding="latin-1")
                try:
                    if path == "/metrics":
                        status, kind, body = await metrics_reply(self.peer, headers)
                        head = _head(status, kind, len(body), not keep_alive)
                    else:
                        body = await _reply(path, query, self.peer, headers)
                        head = (_OK_KEEP if keep_alive else _OK_CLOSE) % len(body)
                except Exception:  # (tracker_reply answers its own failures)
                    log.exception("tracker request failed: %s", path)
                    self._refuse(500, b"Internal Server Error\n")
                    return
                transport = self.transport
                if transport is None:
                    return  # the client went away; the announce was still counted
                transport.write(head + body)
                if not keep_alive:
                    transport.close()
                    self.transport = None
                    return
                if len(self.pending) < MAX_PIPELINED:
                    transport.resume_reading()
            if self.transport is not None and self._timer is None:
                self._timer = self.loop.call_later(TIMEOUT_SECONDS, self._expire)
        finally:
            self._busy = False

    def _refuse(self, status: int, body: bytes) -> None:
        if self.transport is not None:
            self.transport.write(_head(status, b"text/plain", len(body), True) + body)
            self.transport.close()
            self.transport = None

    def _expire(self) -> None:
        self._timer = None
        if self.transport is not None and not self._busy:
            self.transport.close()
            self.transport = None


def listening_socket(host: str, port: int, *, reuse_port: bool, backlog: int
                     ) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


async def _trivial_reply(path: str, query: bytes, peer: str | None,
                         headers: dict[bytes, bytes]) -> bytes:
    from announce.trivial import BODY

    return BODY


async def serve(sock: socket.socket, *, stop: asyncio.Event | None = None,
                on_started: Callable[[], None] | None = None) -> None:
    """Serve on a listening socket until `stop` is set (SIGTERM/SIGINT when None), then
    let the requests in flight finish (at most 10 s)."""
    loop = asyncio.get_running_loop()
    warm_keeper_start()  # Redis loaded in bulk from PostgreSQL, in the background
    server = await loop.create_server(lambda: TrackerProtocol(loop), sock=sock)
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    if on_started is not None:
        on_started()
    await stop.wait()
    server.close()
    if _tasks:
        await asyncio.wait(list(_tasks), timeout=10)


def _run(sock: socket.socket) -> None:
    import uvloop

    uvloop.run(serve(sock))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The tracker's own HTTP server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("TRACKER_PORT",
                                                                       "8001")))
    parser.add_argument("--workers", type=int, default=1,
                        help="processes on the one port (SO_REUSEPORT)")
    parser.add_argument("--backlog", type=int, default=4096)
    parser.add_argument("--trivial", action="store_true",
                        help="answer every request with a fixed body (the benchmark's "
                             "baseline of this server alone)")
    args = parser.parse_args(argv)
    tune_for_server()  # collector settings of every server process (server/gctuning.py)

    if args.trivial:
        global _reply
        _reply = _trivial_reply
    workers = max(1, args.workers)
    if workers == 1:
        sock = listening_socket(args.host, args.port, reuse_port=False,
                                backlog=args.backlog)
        log.info("tracker listening on %s:%d", args.host, args.port)
        _run(sock)
        return
    children = []
    for _ in range(workers):
        # Each process its own socket on the port: the kernel balances new connections
        # between them (one shared socket would wake every process for each).
        sock = listening_socket(args.host, args.port, reuse_port=True, backlog=args.backlog)
        pid = os.fork()
        if pid == 0:
            try:
                _run(sock)
            finally:
                os._exit(0)
        sock.close()
        children.append(pid)
    log.info("tracker listening on %s:%d, %d processes", args.host, args.port, workers)

    def forward(signum: int, _frame: Any) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    for child in children:
        _, code = os.waitpid(child, 0)
        status = status or os.waitstatus_to_exitcode(code)
    sys.exit(status)


if __name__ == "__main__":
    main()
