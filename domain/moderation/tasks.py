from __future__ import annotations

from pathlib import Path

from celery import shared_task
from django.conf import settings

from domain.moderation.warnings import warnings_take_effect_due
from domain.partitions import partitions_archive, partitions_ensure


@shared_task(name="moderation.audit_logs_partitions_ensure")
def audit_logs_partitions_ensure() -> int:
    return partitions_ensure(table="audit_logs", months_ahead=settings.PARTITION_MONTHS_AHEAD)


@shared_task(name="moderation.partitions_archive")
def partitions_archive_old() -> list[str]:
    """Archive months past their retention, for both partitioned log tables, to files."""
    archive_dir = Path(settings.PARTITION_ARCHIVE_DIR)
    written = []
    for table, months in (("announces", settings.ANNOUNCES_RETENTION_MONTHS),
                          ("audit_logs", settings.AUDIT_LOGS_RETENTION_MONTHS)):
        written += partitions_archive(table=table, retention_months=months,
                                      archive_dir=archive_dir)
    return [str(p) for p in written]


@shared_task(name="moderation.warnings_expire")
def warnings_expire() -> int:
    """Warnings that ran out stop counting: points recomputed, threshold bans lifted."""
    return warnings_take_effect_due()
