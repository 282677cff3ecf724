"""One Redis connection pool per process for Django's cache.

Django's RedisCache builds a connection pool per cache object, and caches are
context-local: under ASGI every request and every WebSocket gets a cache object of its own,
so each opened a Redis connection of its own and kept it, with hiredis's 32 KiB reader
buffer, for as long as the object lived (a socket: its whole life; measured with
tracemalloc in `make bench-realtime`, BENCH_TRACEMALLOC: about a third of an idle socket's
memory, and one Redis client per open tab). With this pool class they all share one pool
per URL and options, which hands connections out per command and takes them back.
"""

from __future__ import annotations

import os
import threading
from typing import Any, ClassVar

import redis


class SharedConnectionPool(redis.ConnectionPool):
    _shared: ClassVar[dict[tuple[Any, ...], SharedConnectionPool]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> SharedConnectionPool:  # type: ignore[override]
        # The pid in the key: a forked worker (Celery's prefork) builds its own.
        key = (os.getpid(), url, tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
        with cls._shared_lock:
            pool = cls._shared.get(key)
            if pool is None:
                pool = cls._shared[key] = super().from_url(url, **kwargs)
            return pool
