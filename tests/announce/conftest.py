"""The tracker's Redis namespace per test: the same fixture as the domain tests use."""

from tests.domain.tracker.conftest import tracker_redis  # noqa: F401
