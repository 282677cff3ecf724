"""Beat jobs of the economy. Each takes no objects, is safe to run twice and logs what it
did; the periods are settings listed in server/celery.py."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from celery import shared_task

from domain.bonus.earning import bonus_award_due_periods
from domain.bonus.housekeeping import statistics_recompute
from domain.bonus.services import freeleech_tokens_expire


@shared_task(name="bonus.award_due_periods")
def award_due_periods() -> list[dict[str, Any]]:
    return [{"period_start": r.period_start.isoformat(), "awarded": r.awarded,
             "members": r.members, "points": str(r.points)}
            for r in bonus_award_due_periods()]


@shared_task(name="bonus.expire_tokens")
def expire_tokens() -> int:
    return freeleech_tokens_expire()


@shared_task(name="bonus.recompute_statistics")
def recompute_statistics() -> dict[str, int]:
    return asdict(statistics_recompute())
