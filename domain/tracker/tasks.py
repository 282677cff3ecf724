from __future__ import annotations

from dataclasses import asdict

from celery import shared_task
from django.conf import settings

from domain.partitions import partitions_ensure
from domain.tracker.flush import flush_batches_prune, tracker_flush
from domain.tracker.hnr import hnr_check
from domain.tracker.ratiowatch import ratio_watch_check
from domain.tracker.reaper import tracker_reap_stale_peers
from domain.tracker.rollup import peer_history_roll_up


@shared_task(name="tracker.announces_partitions_ensure")
def announces_partitions_ensure() -> int:
    return partitions_ensure(table="announces", months_ahead=settings.PARTITION_MONTHS_AHEAD)


@shared_task(name="tracker.flush")
def tracker_flush_task() -> int:
    """Buffered announces -> PostgreSQL (see domain/tracker/flush.py)."""
    return tracker_flush()


@shared_task(name="tracker.reap_stale_peers")
def tracker_reap_stale_peers_task() -> dict[str, int]:
    result = tracker_reap_stale_peers()
    flush_batches_prune()
    return result


@shared_task(name="tracker.peer_history_roll_up")
def peer_history_roll_up_task() -> dict[str, int]:
    return peer_history_roll_up(raw_days=settings.PEER_HISTORY_RAW_DAYS)


@shared_task(name="tracker.hit_and_run_check")
def hit_and_run_check_task() -> dict[str, int]:
    """Pre-warnings, hit-and-runs, their warnings and clearing (domain/tracker/hnr.py)."""
    return asdict(hnr_check())


@shared_task(name="tracker.ratio_watch_check")
def ratio_watch_check_task() -> dict[str, int]:
    return asdict(ratio_watch_check())
