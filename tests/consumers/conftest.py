from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from channels.db import database_sync_to_async
from django.db import connections


@pytest.fixture(autouse=True)
async def _close_consumer_db_connections() -> AsyncIterator[None]:
    """Consumers reach the ORM from asgiref's one sync thread, whose connection would
    otherwise outlive the test and keep the test database from being dropped."""
    yield
    await database_sync_to_async(connections.close_all)()
