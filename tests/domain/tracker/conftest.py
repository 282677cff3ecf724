from __future__ import annotations

import uuid

import pytest

from domain.tracker import cache, store


@pytest.fixture(autouse=True)
def tracker_redis(settings):
    """A Redis namespace of its own per test (Redis is shared by every test process), and
    no process-local copies carried from one test to the next."""
    settings.TRACKER_REDIS_PREFIX = f"trk-test-{uuid.uuid4().hex[:12]}"
    settings.TRACKER_INTERVAL_JITTER = 0
    # These tests' announces carry hundreds of MB milliseconds apart, often more than the
    # torrent's size; the caps on a delta are tested (with their own) in test_hostile.py.
    settings.TRACKER_MAX_RATE = 10**15
    settings.TRACKER_MAX_DOWNLOAD_FACTOR = 10**6
    settings.TRACKER_FLUSH_DURABLE_SECONDS = 0  # the shared test Redis keeps nothing anyway
    prefix = settings.TRACKER_REDIS_PREFIX
    r = store.client()  # the real one, even if a test points REDIS_URL elsewhere
    cache.local_clear()
    yield
    cache.local_clear()
    keys = list(r.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        r.delete(*keys)
from tests.domain.tracker.hnr_helpers import clock  # noqa: F401,E402  (hit-and-run tests)
