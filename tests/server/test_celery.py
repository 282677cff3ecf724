"""Celery wiring: the beat schedule names registered tasks with periods from settings, and a
real worker on the Redis broker runs them."""

from __future__ import annotations

import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from psycopg import sql as pgsql

from domain.partitions import partitions_list
from server.celery import app


def test_beat_schedule_lists_registered_tasks_with_periods_from_settings(settings):
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert {entry["task"] for entry in schedule.values()} >= {
        "tracker.announces_partitions_ensure", "moderation.audit_logs_partitions_ensure"}
    for entry in schedule.values():
        assert entry["task"] in app.tasks
    assert schedule["announces-partitions"]["schedule"] == float(
        settings.PARTITION_MAINTENANCE_SECONDS)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_creates_missing_partitions_from_the_broker():
    from domain.tracker.tasks import announces_partitions_ensure

    last = partitions_list(table="announces")[-2]
    with connection.cursor() as cursor:
        cursor.execute(pgsql.SQL("DROP TABLE {}").format(pgsql.Identifier(last))
                       .as_string(cursor.cursor))
    queue = f"test-{uuid.uuid4().hex}"
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue],
                      shutdown_timeout=10):
        result = announces_partitions_ensure.apply_async(queue=queue)
        assert result.get(timeout=30) == 1
    assert last in partitions_list(table="announces")


@pytest.mark.django_db(transaction=True)
def test_default_rows_survive_transactional_tests():
    """Runs after the worker test (pytest-django orders transactional tests last): the
    seed's groups are back after the flush that followed it."""
    from domain.accounts.models import UserGroup

    assert UserGroup.objects.count() == 13
