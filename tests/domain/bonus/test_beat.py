"""The economy's beat entries, and one of its jobs run by a real worker on the broker."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from domain.bonus.models import BonusTransaction, EarningPeriod
from server.celery import app, beat_schedule
from tests.domain.bonus.factories import history, seeders
from tests.factories import make_torrent, make_user

ENTRIES = {
    "bonus-award-due-periods": ("bonus.award_due_periods", "BONUS_EARNING_SCHEDULE_SECONDS"),
    "bonus-expire-tokens": ("bonus.expire_tokens", "BONUS_TOKEN_EXPIRY_SECONDS"),
    "bonus-recompute-statistics": ("bonus.recompute_statistics",
                                   "BONUS_STATISTICS_RECOMPUTE_SECONDS"),
}


def test_beat_lists_the_economy_jobs_with_periods_from_settings(settings):
    settings.BONUS_EARNING_SCHEDULE_SECONDS = 123
    settings.BONUS_TOKEN_EXPIRY_SECONDS = 45
    settings.BONUS_STATISTICS_RECOMPUTE_SECONDS = 6789
    app.loader.import_default_modules()

    schedule = beat_schedule()

    for name, (task, setting) in ENTRIES.items():
        assert schedule[name]["task"] == task
        assert task in app.tasks
        assert schedule[name]["schedule"] == float(getattr(settings, setting))


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_awards_the_due_period_once(settings):
    settings.BONUS_EARNING_GRACE_SECONDS = 0
    settings.BONUS_EARNING_PERIOD_SECONDS = 86400
    day = timedelta(days=1)
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    member = make_user()
    torrent = make_torrent()
    seeders(torrent, 20)
    # The first run awards only the latest complete period (yesterday); today's seeding
    # is not due yet.
    history(user=member, torrent=torrent, recorded_at=today - day, seedtime=1800)
    history(user=member, torrent=torrent, recorded_at=today - timedelta(seconds=1),
            seedtime=1800)
    history(user=member, torrent=torrent, recorded_at=today, seedtime=1800)
    from domain.bonus.tasks import award_due_periods

    queue = f"test-{uuid.uuid4().hex}"
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue],
                      shutdown_timeout=10):
        first = award_due_periods.apply_async(queue=queue).get(timeout=60)
        second = award_due_periods.apply_async(queue=queue).get(timeout=60)

    assert first == [{"period_start": (today - day).isoformat(), "awarded": True,
                      "members": 1, "points": "1.00"}]
    assert second == []
    assert EarningPeriod.objects.get().period_end == today
    [row] = BonusTransaction.objects.filter(user=member)
    assert row.amount == Decimal("1.00")
    member.refresh_from_db()
    assert member.bonus_points == row.amount
