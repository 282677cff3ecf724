from __future__ import annotations

from celery import shared_task
from django.conf import settings

from domain.partitions import partitions_ensure


@shared_task(name="tracker.announces_partitions_ensure")
def announces_partitions_ensure() -> int:
    return partitions_ensure(table="announces", months_ahead=settings.PARTITION_MONTHS_AHEAD)
