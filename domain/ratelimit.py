"""Per-member (or per-address) action limits kept in Redis (the Django cache), so every tab
and every server process of a member shares one budget."""

from __future__ import annotations

from django.core.cache import cache

from domain.errors import RateLimited


def rate_limit_hit(*, key: str, limit: int, window_seconds: int, message: str) -> None:
    """Count one action under `key`; raise RateLimited past `limit` within the window.

    The window starts at the first action and its key expires with it (not aligned to the
    clock), so a burst is never split in two by a window boundary and let through twice.
    """
    cache_key = f"rl:{key}"
    if cache.add(cache_key, 1, timeout=window_seconds):
        return
    try:
        count = cache.incr(cache_key)
    except ValueError:
        # The window expired between add and incr: this action opens a new one.
        cache.add(cache_key, 1, timeout=window_seconds)
        return
    if count > limit:
        raise RateLimited(message, retry_after=float(window_seconds))
