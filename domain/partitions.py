"""Monthly partitions for the log tables (announces, audit_logs): see
sql/0002_monthly_partitions.sql for the function that does the work."""

from __future__ import annotations

import logging

from django.db import connection

log = logging.getLogger(__name__)

PARTITIONED_TABLES = ("announces", "audit_logs")


def partitions_ensure(*, table: str, months_ahead: int) -> int:
    """Create `table`'s partitions from this month through `months_ahead` months on;
    returns how many were missing. Idempotent."""
    if table not in PARTITIONED_TABLES:
        raise ValueError(f"{table!r} is not a partitioned table")
    with connection.cursor() as cursor:
        cursor.execute("SELECT ensure_monthly_partitions(%s::regclass, %s)", [table, months_ahead])
        (created,) = cursor.fetchone()
    log.info("partitions: %s had %d missing month(s) ahead, created", table, created)
    return int(created)


def partitions_list(*, table: str) -> list[str]:
    """The names of `table`'s partitions, oldest first (the default partition last)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = %s::regclass ORDER BY c.relname = %s, c.relname""",
            [table, f"{table}_default"],
        )
        return [row[0] for row in cursor.fetchall()]
