"""The tracker's Redis namespace per test (these pages are filled by real announces)."""

from tests.domain.tracker.conftest import tracker_redis  # noqa: F401
