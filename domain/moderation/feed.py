"""The staff moderation feed: open moderation_queue items and reports, claimed and resolved
live, with who acted. Approving or rejecting an upload is domain.catalog.torrent_moderate
(it resolves the queue item and publishes "moderation.resolved"); here staff claim queue
items and claim, resolve or dismiss reports.

Events on domain.events.MODERATION_GROUP (payloads carry `kind`: "queue" or "report"):
    moderation.item      a new queue item (published by domain.catalog)
    moderation.report    a new report (published by whoever files reports)
    moderation.claimed   {kind, id, claimed_by}
    moderation.resolved  {kind, id, status, resolved_by} (catalog sends target_type/target_id)
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from domain.accounts.models import User
from domain.accounts.permissions import Perm, require_perm, user_has_perm
from domain.base import TargetType
from domain.community.access import moderation_feed_can_read
from domain.community.events import event_id
from domain.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from domain.events import (
    ModerationClaimed,
    ModerationReportPayload,
    ModerationResolved,
    publish,
)
from domain.moderation.models import ModerationQueueItem, QueueStatus, Report, ReportStatus
from domain.moderation.reports import report_closed, report_feed_row
from domain.moderation.services import audit_log_write

OPEN_QUEUE = (QueueStatus.PENDING, QueueStatus.CLAIMED, QueueStatus.ESCALATED)
OPEN_REPORTS = (ReportStatus.OPEN, ReportStatus.CLAIMED)
FEED_SIZE = 100


def _queue_row(item: ModerationQueueItem) -> dict[str, Any]:
    return {
        "kind": "queue", "id": str(item.id), "target_type": item.target_type,
        "target_id": str(item.target_id), "source": item.source, "status": item.status,
        "summary": item.summary, "priority": item.priority,
        "claimed_by": item.claimed_by.username if item.claimed_by else None,
        "created_at": item.created_at.isoformat(),
    }


def _report_row(report: Report) -> ModerationReportPayload:
    # One shape for the snapshot and the live "moderation.report" event.
    return report_feed_row(report)


def moderation_feed_open(user: Any) -> dict[str, list[dict[str, Any]]]:
    """What a staff member's feed shows: open queue items and/or open reports, by what
    their permissions let them work."""
    if not moderation_feed_can_read(user):
        raise NotPermitted("The moderation feed is for staff.")
    feed: dict[str, list[Any]] = {"queue": [], "reports": []}
    if user_has_perm(user, Perm.MODERATION_QUEUE):
        feed["queue"] = [_queue_row(i) for i in ModerationQueueItem.objects
                         .filter(status__in=OPEN_QUEUE).select_related("claimed_by")
                         .order_by("-priority", "created_at")[:FEED_SIZE]]
    if user_has_perm(user, Perm.REPORTS_HANDLE):
        feed["reports"] = [_report_row(r) for r in Report.objects
                           .filter(status__in=OPEN_REPORTS, duplicate_of__isnull=True)
                           .select_related("claimed_by")
                           .order_by("created_at")[:FEED_SIZE]]
    return feed


def _uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound("There is no such item.") from exc


def moderation_item_claim(*, actor: User, item_id: Any) -> ModerationQueueItem:
    require_perm(actor, Perm.MODERATION_QUEUE, "Only queue moderators can claim items.")
    now = timezone.now()
    with transaction.atomic():
        item = (ModerationQueueItem.objects.select_for_update()
                .filter(id=_uuid(item_id)).first())
        if item is None:
            raise NotFound("There is no such item.")
        if item.status not in (QueueStatus.PENDING, QueueStatus.ESCALATED):
            who = item.claimed_by.username if item.claimed_by else "someone"
            raise Conflict(f"Already {item.status} by {who}.", code="already_claimed")
        item.status, item.claimed_by, item.claimed_at = QueueStatus.CLAIMED, actor, now
        item.save(update_fields=["status", "claimed_by", "claimed_at", "updated_at"])
        audit_log_write(action="moderation.item_claim", actor=actor,
                        target_type=item.target_type, target_id=item.target_id,
                        metadata={"queue_item_id": str(item.id)})
        publish(ModerationClaimed(payload={
            "event_id": event_id(now), "kind": "queue", "id": str(item.id),
            "claimed_by": actor.username}))
    return item


def report_claim(*, actor: User, report_id: Any) -> Report:
    require_perm(actor, Perm.REPORTS_HANDLE, "Only report handlers can claim reports.")
    now = timezone.now()
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(id=_uuid(report_id)).first()
        if report is None:
            raise NotFound("There is no such report.")
        if report.status != ReportStatus.OPEN:
            who = report.claimed_by.username if report.claimed_by else "someone"
            raise Conflict(f"Already {report.status} by {who}.", code="already_claimed")
        report.status, report.claimed_by, report.claimed_at = ReportStatus.CLAIMED, actor, now
        report.save(update_fields=["status", "claimed_by", "claimed_at", "updated_at"])
        audit_log_write(action="report.claim", actor=actor, target_type=TargetType.REPORT,
                        target_id=report.id)
        publish(ModerationClaimed(payload={
            "event_id": event_id(now), "kind": "report", "id": str(report.id),
            "claimed_by": actor.username}))
    return report


def report_resolve(*, actor: User, report_id: Any, dismiss: bool, note: str) -> Report:
    require_perm(actor, Perm.REPORTS_HANDLE, "Only report handlers can resolve reports.")
    note = str(note).strip()
    if not note:
        raise ValidationFailed("Say what was done; the note is kept with the report.",
                               field="note")
    now = timezone.now()
    status = ReportStatus.DISMISSED if dismiss else ReportStatus.RESOLVED
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(id=_uuid(report_id)).first()
        if report is None:
            raise NotFound("There is no such report.")
        if report.status not in OPEN_REPORTS:
            raise Conflict(f"This report is already {report.status}.", code="closed")
        if report.status == ReportStatus.CLAIMED and report.claimed_by_id != actor.id:
            raise Conflict("Another staff member claimed this report.", code="claimed")
        old = report.status
        report.status, report.resolved_by, report.resolved_at = status, actor, now
        report.resolution_note = note[:5000]
        report.save(update_fields=["status", "resolved_by", "resolved_at",
                                   "resolution_note", "updated_at"])
        report_closed(report)  # its merged duplicates end the same way; reporters told
        audit_log_write(action=f"report.{status.value}", actor=actor,
                        target_type=TargetType.REPORT, target_id=report.id,
                        changes={"status": [old, status.value]}, metadata={"note": note})
        publish(ModerationResolved(payload={
            "event_id": event_id(now), "kind": "report", "id": str(report.id),
            "status": status.value, "resolved_by": actor.username}))
    return report
