"""An asyncio Redis connection that pipelines every command issued in one event-loop turn.

The announce app awaits Redis once or twice per request. With a blocking client the
process sits idle for every round trip; with redis.asyncio each command pays a connection
checkout and its own write. Here all commands queued during one turn of the loop leave in
a single write on one connection and their replies are parsed by hiredis as they stream
back, so 64 concurrent announces cost about one round trip, not 64. Replies come back in
order (RESP), so a FIFO of futures is all the bookkeeping needed.

Measured by tests/bench/announce_bench.py (see README, "Tracker speed").
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any
from urllib.parse import unquote, urlparse

import hiredis

from domain.tracker.store import url


class PipeError(ConnectionError):
    pass


class RedisPipe:
    def __init__(self, url: str):
        self.url = url
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._parser = hiredis.Reader()
        self._queue: list[bytes] = []
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._queued: list[asyncio.Future[Any]] = []
        self._scheduled = False
        self._lock = asyncio.Lock()
        self._read_task: asyncio.Task[None] | None = None

    async def _connect(self) -> None:
        async with self._lock:
            if self._writer is not None:
                return
            u = urlparse(self.url)
            if u.scheme == "unix":
                reader, writer = await asyncio.open_unix_connection(u.path)
            else:
                reader, writer = await asyncio.open_connection(u.hostname or "127.0.0.1",
                                                               u.port or 6379)
            self._parser = hiredis.Reader()
            setup: list[tuple[Any, ...]] = []
            if u.password:
                setup.append(("AUTH", *( [unquote(u.username)] if u.username else []),
                              unquote(u.password)))
            db = (u.path or "/0").lstrip("/") or "0"
            if u.scheme != "unix" and db != "0":
                setup.append(("SELECT", db))
            for cmd in setup:
                writer.write(hiredis.pack_command(cmd))
                await writer.drain()
                reply = await self._read_one(reader)
                if isinstance(reply, hiredis.ReplyError):
                    writer.close()
                    raise PipeError(f"Redis refused {cmd[0]}: {reply}")
            self._reader, self._writer = reader, writer
            self._read_task = asyncio.ensure_future(self._read_loop(reader))

    async def _read_one(self, reader: asyncio.StreamReader) -> Any:
        while True:
            reply = self._parser.gets()
            if reply is not False:
                return reply
            data = await reader.read(65536)
            if not data:
                raise PipeError("Redis closed the connection")
            self._parser.feed(data)

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                data = await reader.read(262144)
                if not data:
                    raise PipeError("Redis closed the connection")
                self._parser.feed(data)
                while True:
                    reply = self._parser.gets()
                    if reply is False:
                        break
                    fut = self._waiting.popleft()
                    if not fut.done():
                        fut.set_result(reply)
        except Exception as exc:  # the connection is gone: fail what waits, reconnect later
            self._drop(exc)

    def _drop(self, exc: BaseException) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
        for fut in [*self._waiting, *self._queued]:
            if not fut.done():
                fut.set_exception(PipeError(f"Redis connection lost: {exc}"))
        self._waiting.clear()
        self._queued.clear()
        self._queue.clear()

    def _write(self) -> None:
        self._scheduled = False
        if not self._queue:
            return
        if self._writer is None:
            self._drop(PipeError("not connected"))
            return
        self._writer.write(b"".join(self._queue))
        self._waiting.extend(self._queued)
        self._queue.clear()
        self._queued = []

    def _enqueue(self, args: tuple[Any, ...]) -> asyncio.Future[Any]:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(hiredis.pack_command(args))
        self._queued.append(fut)
        if not self._scheduled:
            self._scheduled = True
            fut.get_loop().call_soon(self._write)
        return fut

    async def call(self, *args: Any) -> Any:
        if self._writer is None:
            await self._connect()
        reply = await self._enqueue(args)
        if isinstance(reply, hiredis.ReplyError):
            raise reply
        return reply

    async def call_many(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Several commands in the same write; their replies in order (no task each, as
        asyncio.gather would make)."""
        if self._writer is None:
            await self._connect()
        futures = [self._enqueue(c) for c in commands]
        try:
            replies = [await f for f in futures]
        except BaseException:
            for f in futures:  # a lost connection failed them all: nothing left unread
                if f.done() and not f.cancelled():
                    f.exception()
            raise
        for reply in replies:
            if isinstance(reply, hiredis.ReplyError):
                raise reply
        return replies

    async def evalsha(self, sha: str, script: str, keys: list[Any], args: list[Any]) -> Any:
        try:
            return await self.call("EVALSHA", sha, len(keys), *keys, *args)
        except hiredis.ReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            await self.call("SCRIPT", "LOAD", script)
            return await self.call("EVALSHA", sha, len(keys), *keys, *args)


_pipes: dict[tuple[int, str], tuple[asyncio.AbstractEventLoop, RedisPipe]] = {}


def pipe() -> RedisPipe:
    """This event loop's pipe to the tracker's Redis."""
    loop = asyncio.get_running_loop()
    key = (id(loop), url())
    found = _pipes.get(key)
    if found is None or found[0] is not loop:  # a new loop may reuse a dead one's id
        if len(_pipes) > 64:  # loops of finished tests and threads
            _pipes.clear()
        found = _pipes[key] = (loop, RedisPipe(key[1]))
    return found[1]
