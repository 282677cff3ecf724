from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from asgiref.sync import sync_to_async
from django.db import connections


@pytest.fixture(autouse=True)
async def _close_consumer_db_connections() -> AsyncIterator[None]:
    """Consumers reach the ORM from asgiref's one sync thread, whose connection would
    otherwise outlive the test and keep the test database from being dropped. Plain
    sync_to_async on that thread, not channels' database_sync_to_async: that one first
    checks the thread's connection (close_old_connections), which a test without database
    access may not touch when an earlier test left it open there."""
    yield
    await sync_to_async(connections.close_all)()
