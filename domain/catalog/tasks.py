"""Periodic catalog jobs: each takes no arguments and calls one function."""

from __future__ import annotations

from celery import shared_task

from domain.catalog.sitestats import site_statistics_snapshot
from domain.catalog.top10 import top10_refresh


@shared_task(name="catalog.top10_refresh")
def top10_refresh_task() -> int:
    """Recompute the top 10 lists; returns how many entries they hold."""
    return top10_refresh().entries


@shared_task(name="catalog.site_statistics_snapshot")
def site_statistics_snapshot_task() -> str:
    """Write today's site statistics row (rewritten by every run of the day)."""
    return str(site_statistics_snapshot().day)
