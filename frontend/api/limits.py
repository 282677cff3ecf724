"""Request limits per address and per key, counted in Redis (the Django cache) so every
server process shares one budget. Fixed windows aligned to the clock: the answer's
Retry-After is exactly the time left in the window, which is what Prowlarr and cross-seed
wait for before trying again."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from domain.errors import RateLimited

# Torznab's clients back off only on this exact description (AUTOMATION.md).
LIMIT_MESSAGE = "Request limit reached"


def limit_hit(*, scope: str, ident: str, limit: int, window: int | None = None) -> None:
    """Count one request; raise RateLimited once `limit` is passed within the window."""
    window = window or settings.API_RATE_WINDOW_SECONDS
    now = time.time()
    slot = int(now // window)
    key = f"api:rl:{scope}:{ident}:{slot}"
    if cache.add(key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window + 1)
            count = 1
    if count > limit:
        raise RateLimited(LIMIT_MESSAGE, retry_after=max(1.0, (slot + 1) * window - now),
                          code="rate_limited")
