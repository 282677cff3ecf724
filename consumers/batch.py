"""Database reads of many sockets at once, for join storms.

Every subscribe reads the member fresh, checks access and reads the stream's history, and
asgiref runs all of it on one thread per process: a restart's 1,000 reconnecting tabs
queued 1,000 x (hop + 5 queries + a health-check query) on it. Here the subscribes that
arrive while a batch is being read wait for the next one, which reads the whole lot in a
single hop with one query per kind (members by id, rooms by name, blocks by member, one
room's history once): a storm of 1,000 costs a few dozen hops.

Each request still gets its own answer (or its own error): the access rules asked are
the pages' own, per member.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from channels.db import database_sync_to_async

Req = TypeVar("Req")
Res = TypeVar("Res")


class Batched(Generic[Req, Res]):
    """`await batched(request)`: `read(requests)` runs in the database thread once for all
    the requests made while the previous call ran, and returns one result (or exception)
    per request, in order."""

    def __init__(self, read: Callable[[Sequence[Req]], list[Res | BaseException]]) -> None:
        self.read = read
        self.pending: list[tuple[Req, asyncio.Future[Res]]] = []
        self.task: asyncio.Task[None] | None = None
        self.calls = 0

    async def __call__(self, request: Req) -> Res:
        future: asyncio.Future[Res] = asyncio.get_running_loop().create_future()
        self.pending.append((request, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run(), name="live batched read")
        return await future

    async def _run(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, []
            self.calls += 1
            try:
                results = await database_sync_to_async(self.read)([r for r, _ in batch])
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception)
                                             else RuntimeError("batched read cancelled"))
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue  # its socket went away meanwhile
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)


_instances: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Any, Batched[Any, Any]]] = (
    weakref.WeakKeyDictionary())


def batched(read: Callable[[Sequence[Req]], list[Res | BaseException]]) -> Batched[Req, Res]:
    """The running loop's batcher for `read` (one per server process; tests get one per
    loop, as asgiref's thread is per loop too)."""
    loop = asyncio.get_running_loop()
    found = _instances.setdefault(loop, {})
    instance = found.get(read)
    if instance is None:
        instance = found[read] = Batched(read)
    return instance
