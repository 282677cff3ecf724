"""Account beat jobs: listed in the schedule with periods from settings, run by a real
worker on the Redis broker, safe to run twice."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from domain.accounts.models import UserSession, UserStatistics
from domain.accounts.tasks import group_auto_apply_task, user_sessions_cleanup_task
from server.celery import app, beat_schedule

GIB = 1024**3


def test_beat_runs_both_account_jobs_with_periods_from_settings(settings):
    settings.GROUP_AUTO_APPLY_SECONDS = 1234
    settings.SESSION_CLEANUP_SECONDS = 4321
    app.loader.import_default_modules()
    schedule = beat_schedule()
    assert schedule["accounts-group-auto-apply"] == {"task": "accounts.group_auto_apply",
                                                     "schedule": 1234.0}
    assert schedule["accounts-user-sessions-cleanup"] == {
        "task": "accounts.user_sessions_cleanup", "schedule": 4321.0}
    assert {"accounts.group_auto_apply", "accounts.user_sessions_cleanup"} <= set(app.tasks)


@pytest.mark.django_db
def test_cleanup_task_logs_what_it_did_and_is_idempotent(member, caplog):
    old = timezone.now() - timedelta(days=90)
    UserSession.objects.create(user=member, token_hash=hashlib.sha256(b"o").hexdigest(),
                               created_at=old, expires_at=old + timedelta(days=14))
    with caplog.at_level(logging.INFO, logger="domain.accounts.services"):
        assert user_sessions_cleanup_task() == 1
        assert user_sessions_cleanup_task() == 0
    assert "deleted 1 session rows" in caplog.text
    assert "deleted 0 session rows" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_applies_class_rules(member):
    UserStatistics.objects.filter(user=member).update(uploaded=30 * GIB, downloaded=GIB)
    type(member).objects.filter(pk=member.pk).update(
        created_at=timezone.now() - timedelta(days=30))
    queue = f"test-{uuid.uuid4().hex}"
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue],
                      shutdown_timeout=10):
        result = group_auto_apply_task.apply_async(queue=queue)
        assert result.get(timeout=30) == 1
    member.refresh_from_db()
    assert member.group.name == "power_user"
    assert group_auto_apply_task() == 0
