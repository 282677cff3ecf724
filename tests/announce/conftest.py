"""The tracker's Redis namespace per test: the same fixture as the domain tests use."""

from tests.announce.swarm import tracker_server  # noqa: F401
from tests.domain.tracker.conftest import tracker_redis  # noqa: F401
