"""Monthly partitions for the log tables (announces, audit_logs): see
sql/0002_monthly_partitions.sql for the function that does the work."""

from __future__ import annotations

import gzip
import logging
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
from django.db import connection, transaction
from psycopg import sql

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


def _month_of(partition: str, table: str) -> date | None:
    suffix = partition.removeprefix(f"{table}_")
    try:
        year, month = suffix.split("_")
        return date(int(year), int(month), 1)
    except ValueError:
        return None  # the default partition


def partitions_archive(*, table: str, retention_months: int, archive_dir: Path,
                       today: date | None = None) -> list[Path]:
    """Write every monthly partition of `table` older than `retention_months` (counted
    back from this month) to `archive_dir/<partition>.csv.gz`, then detach and drop it.

    A partition is dropped only once its file is complete and holds as many rows as the
    partition, so a crash at any point loses nothing; running it again redoes only what
    is left. Returns the files written."""
    if table not in PARTITIONED_TABLES:
        raise ValueError(f"{table!r} is not a partitioned table")
    if retention_months < 1:
        raise ValueError("retention_months must be at least 1")
    today = today or datetime.now(UTC).date()
    first_kept = _add_months(today.replace(day=1), -retention_months)
    archive_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for partition in partitions_list(table=table):
        month = _month_of(partition, table)
        if month is None or month >= first_kept:
            continue
        path = archive_dir / f"{partition}.csv.gz"
        with transaction.atomic(), connection.cursor() as cursor:
            # Lock out writers so the file and the drop see the same rows.
            cursor.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE")
                           .format(sql.Identifier(partition)).as_string(cursor.cursor))
            cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(partition)).as_string(cursor.cursor))
            (expected,) = cursor.fetchone()
            rows = _copy_out(cursor.cursor, partition, path)
            if rows != expected:
                raise RuntimeError(f"archive of {partition} has {rows} rows, "
                                   f"the partition {expected}; nothing dropped")
            cursor.execute(sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(
                sql.Identifier(table), sql.Identifier(partition)).as_string(cursor.cursor))
            cursor.execute(sql.SQL("DROP TABLE {}").format(
                sql.Identifier(partition)).as_string(cursor.cursor))
        log.info("partitions: archived %s (%d rows) to %s and dropped it", partition, rows, path)
        written.append(path)
    return written


def _copy_out(cursor: psycopg.Cursor[Any], partition: str, path: Path) -> int:
    """COPY the partition to a gzip'd CSV with a header; returns the rows PostgreSQL says it
    copied. Written to a temporary name and renamed, so a file is never half there."""
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wb") as out:
        statement = sql.SQL("COPY {} TO STDOUT WITH (FORMAT csv, HEADER)").format(
            sql.Identifier(partition))
        with cursor.copy(statement) as copy:
            for chunk in copy:
                out.write(bytes(chunk))
    os.replace(tmp, path)
    return cursor.rowcount


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
