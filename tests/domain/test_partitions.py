"""Monthly partitions of announces and audit_logs: created ahead by one idempotent function,
rows land in their month, strays in the default partition move when their month is made."""

from __future__ import annotations

import csv
import gzip
import os
import uuid
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from psycopg import sql as pgsql

from domain.partitions import partitions_archive, partitions_ensure, partitions_list
from domain.tracker.models import Announce
from tests.factories import make_torrent

pytestmark = pytest.mark.django_db


def where(table: str, row_id: uuid.UUID) -> str:
    with connection.cursor() as cursor:
        query = pgsql.SQL("SELECT tableoid::regclass::text FROM {} WHERE id = %s").format(
            pgsql.Identifier(table))
        cursor.execute(query.as_string(cursor.cursor), [row_id])
        return cursor.fetchone()[0]


def announce(member, torrent, at: datetime) -> Announce:
    return Announce.objects.create(created_at=at, torrent=torrent, user=member,
                                   peer_id=os.urandom(20), ip="192.0.2.10", port=51413,
                                   uploaded=0, downloaded=0, left=100)


@pytest.mark.parametrize("table", ["announces", "audit_logs"])
def test_ensure_is_idempotent(table):
    partitions_ensure(table=table, months_ahead=6)
    before = partitions_list(table=table)
    assert partitions_ensure(table=table, months_ahead=6) == 0
    assert partitions_list(table=table) == before
    assert before[-1] == f"{table}_default"


def test_refuses_a_table_that_is_not_partitioned():
    with pytest.raises(ValueError, match="not a partitioned table"):
        partitions_ensure(table="users", months_ahead=1)


def test_an_announce_lands_in_its_month(member):
    now = datetime.now(UTC)
    row = announce(member, make_torrent(), now)
    assert where("announces", row.id) == f"announces_{now:%Y_%m}"
    assert Announce.objects.get(id=row.id).peer_id is not None


def test_a_stray_row_moves_out_of_the_default_partition_when_its_month_is_made(member):
    far = datetime(2031, 7, 15, 12, 0, tzinfo=UTC)
    row = announce(member, make_torrent(), far)
    assert where("announces", row.id) == "announces_default"
    with connection.cursor() as cursor:
        cursor.execute("SELECT ensure_monthly_partitions('announces', 0, %s)", [far.date()])
        assert cursor.fetchone() == (1,)
    assert where("announces", row.id) == "announces_2031_07"
    assert Announce.objects.filter(created_at__year=2031).count() == 1
    # The new partition got the parent's indexes and constraints.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'announces_2031_07'")
        assert cursor.fetchone()[0] >= 4


def test_audit_rows_land_in_their_month(member):
    row_id = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO audit_logs (id, actor_id, action) "
                       "VALUES (%s, %s, 'user.login')", [row_id, member.id])
    assert where("audit_logs", row_id) == f"audit_logs_{datetime.now(UTC):%Y_%m}"


def test_the_partition_tasks_create_what_is_missing():
    from domain.moderation.tasks import audit_logs_partitions_ensure
    from domain.tracker.tasks import announces_partitions_ensure

    with connection.cursor() as cursor:
        last = partitions_list(table="announces")[-2]
        cursor.execute(pgsql.SQL("DROP TABLE {}").format(pgsql.Identifier(last))
                       .as_string(cursor.cursor))
    assert announces_partitions_ensure() == 1
    assert last in partitions_list(table="announces")
    assert audit_logs_partitions_ensure() == 0


def _old_partition_with_rows(member, month: date, count: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ensure_monthly_partitions('announces', 0, %s)", [month])
    torrent = make_torrent()
    at = datetime(month.year, month.month, 10, tzinfo=UTC)
    for _ in range(count):
        announce(member, torrent, at)
    return f"announces_{month:%Y_%m}"


def test_old_months_are_archived_to_a_file_and_dropped(member, tmp_path):
    old = _old_partition_with_rows(member, date(2023, 2, 1), 3)
    kept = _old_partition_with_rows(member, date(2026, 1, 1), 1)
    written = partitions_archive(table="announces", retention_months=12, archive_dir=tmp_path,
                                 today=date(2026, 11, 24))
    assert written == [tmp_path / f"{old}.csv.gz"]
    names = partitions_list(table="announces")
    assert old not in names and kept in names
    with gzip.open(written[0], "rt", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    assert {r["user_id"] for r in rows} == {str(member.id)}
    assert Announce.objects.filter(created_at__year=2023).count() == 0
    assert Announce.objects.filter(created_at__year=2026, created_at__month=1).count() == 1
    # Nothing left to do the second time.
    assert partitions_archive(table="announces", retention_months=12, archive_dir=tmp_path,
                              today=date(2026, 11, 24)) == []


def test_audit_log_months_archive_despite_the_immutability_trigger(member, tmp_path):
    with connection.cursor() as cursor:
        cursor.execute("SELECT ensure_monthly_partitions('audit_logs', 0, '2022-05-01')")
        cursor.execute("INSERT INTO audit_logs (id, created_at, actor_id, action) "
                       "VALUES (%s, '2022-05-03T10:00:00Z', %s, 'user.login')",
                       [uuid.uuid4(), member.id])
    written = partitions_archive(table="audit_logs", retention_months=24, archive_dir=tmp_path,
                                 today=date(2026, 11, 24))
    assert [p.name for p in written] == ["audit_logs_2022_05.csv.gz"]
    assert "audit_logs_2022_05" not in partitions_list(table="audit_logs")


def test_archive_refuses_nonsense(tmp_path):
    with pytest.raises(ValueError):
        partitions_archive(table="users", retention_months=12, archive_dir=tmp_path)
    with pytest.raises(ValueError):
        partitions_archive(table="announces", retention_months=0, archive_dir=tmp_path)
