"""Members report what they see: a torrent, comment, forum post or topic, chat message, a
private message they received, a request, a collection or a member.

Reports of one target merge: the first open report is the primary staff work; later ones
(from other members) are rows of their own pointing at it (`duplicate_of`), so each
reporter sees how theirs ended, and the primary counts them (`report_count`). Claiming and
resolving stay in domain.moderation.feed (the live feed's actions); closing the
primary closes its duplicates with the same outcome (`report_closed`), and every reporter
is told.

Events on MODERATION_GROUP: "moderation.report" {kind: "report", id, target_type,
target_id, reason, status, summary, label, url, report_count, claimed_by, created_at,
event_id} for a new primary or a primary whose count grew.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from domain.accounts.models import User
from domain.accounts.permissions import Perm, require_perm, user_has_perm
from domain.base import TargetType
from domain.community.events import event_id
from domain.community.models import NotificationKind
from domain.community.notifications import notification_send
from domain.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from domain.events import ModerationReport, ModerationReportPayload, publish
from domain.moderation.autoflag import autoflag_reports
from domain.moderation.models import REPORT_TARGETS, Report, ReportReason, ReportStatus
from domain.moderation.services import audit_log_write
from domain.moderation.targets import Target, target_describe
from domain.ratelimit import rate_limit_hit

OPEN = (ReportStatus.OPEN, ReportStatus.CLAIMED)
MAX_DESCRIPTION = 5000


def report_feed_row(report: Report, target: Target | None = None
                    ) -> ModerationReportPayload:
    """A primary report as the staff feed shows it."""
    # What the target looked like when reported (evidence): the feed reads no other table,
    # and a target deleted since still shows what it was.
    evidence = report.evidence if isinstance(report.evidence, dict) else {}
    label = target.label if target else str(evidence.get("label") or report.target_type)
    url = target.url if target else str(evidence.get("url") or "")
    return {
        "kind": "report", "id": str(report.id), "target_type": report.target_type,
        "target_id": str(report.target_id), "reason": report.reason,
        "status": report.status, "summary": report.description[:255],
        "label": label, "url": url,
        "report_count": report.report_count,
        "claimed_by": report.claimed_by.username if report.claimed_by_id and report.claimed_by
        else None,
        "created_at": report.created_at.isoformat(),
        "event_id": event_id(report.updated_at or report.created_at),
    }


def report_file(*, reporter: User, target_type: str, target_id: Any, reason: str,
                description: str = "", ip_address: str | None = None) -> Report:
    """File a report. The reporter must be able to see the target; a member files at most
    REPORTS_PER_HOUR reports an hour and one open report per target."""
    require_perm(reporter, Perm.SITE_ACCESS, "Log in to report.")
    if str(target_type) not in {t.value for t in REPORT_TARGETS}:
        raise ValidationFailed("That cannot be reported.", field="target_type")
    if str(reason) not in ReportReason.values:
        raise ValidationFailed("Choose a reason.", field="reason")
    description = str(description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(f"Keep it under {MAX_DESCRIPTION} characters.",
                               field="description")
    if reason == ReportReason.OTHER and not description:
        raise ValidationFailed("Say what is wrong.", field="description")
    target = target_describe(str(target_type), target_id, viewer=reporter)
    if target.target_type == TargetType.USER and target.target_id == reporter.pk:
        raise ValidationFailed("You cannot report yourself.", field="target_id")
    rate_limit_hit(key=f"report:{reporter.pk}", limit=settings.REPORTS_PER_HOUR,
                   window_seconds=3600,
                   message="You have filed many reports this hour; try again later.")
    with transaction.atomic():
        # The primary's row lock serialises reports of one target, so two reporters racing
        # still make one primary and a count of two.
        primary = (Report.objects.select_for_update()
                   .filter(target_type=target.target_type, target_id=target.target_id,
                           duplicate_of__isnull=True, status__in=OPEN)
                   .order_by("created_at").first())
        if primary is not None and (
                primary.reporter_id == reporter.pk
                or primary.duplicates.filter(reporter=reporter, status__in=OPEN).exists()):
            raise Conflict("You have already reported this; staff have it.",
                           code="already_reported")
        report = Report.objects.create(
            reporter=reporter, target_type=target.target_type, target_id=target.target_id,
            reason=reason, description=description, duplicate_of=primary,
            evidence={"label": target.label, "excerpt": target.excerpt, "url": target.url,
                      "author_id": str(target.author_id) if target.author_id else None})
        if primary is not None:
            primary.report_count += 1
            primary.save(update_fields=["report_count", "updated_at"])
        shown = primary or report
        audit_log_write(action="report.file", actor=reporter, target_type=TargetType.REPORT,
                        target_id=report.id, ip_address=ip_address,
                        metadata={"target_type": target.target_type,
                                  "target_id": str(target.target_id), "reason": reason,
                                  "primary_id": str(shown.id)})
        publish(ModerationReport(payload=report_feed_row(shown, target)))
        autoflag_reports(target_type=target.target_type, target_id=target.target_id,
                         count=shown.report_count)
    return report


def report_closed(report: Report) -> int:
    """Call in the transaction that resolved or dismissed a primary report: its open
    duplicates end the same way and every reporter is notified. Returns how many
    duplicates were closed."""
    duplicates = list(Report.objects.select_for_update()
                      .filter(duplicate_of=report, status__in=OPEN))
    Report.objects.filter(pk__in=[d.pk for d in duplicates]).update(
        status=report.status, resolved_by=report.resolved_by, resolved_at=report.resolved_at,
        resolution_note=report.resolution_note, updated_at=timezone.now())
    verdict = "dealt with" if report.status == ReportStatus.RESOLVED else "dismissed"
    for reporter_id, report_id in [(report.reporter_id, report.pk),
                                   *((d.reporter_id, d.pk) for d in duplicates)]:
        if reporter_id is None:
            continue
        notification_send(
            user_id=reporter_id, kind=NotificationKind.REPORT_OUTCOME,
            title=f"Your report was {verdict}", body=report.resolution_note[:500],
            url="/reports/", target_type=TargetType.REPORT, target_id=report_id)
    return len(duplicates)


def reports_of(reporter: User) -> QuerySet[Report]:
    """The member's own reports, newest first (the only reports a member sees)."""
    return Report.objects.filter(reporter=reporter).order_by("-created_at")


def report_for_staff(viewer: Any, report_id: Any) -> Report:
    """One report, for staff who handle reports."""
    if not user_has_perm(viewer, Perm.REPORTS_HANDLE):
        raise NotPermitted("Reports are handled by staff.")
    try:
        rid = uuid.UUID(str(report_id))
    except ValueError:
        raise NotFound("There is no such report.") from None
    report = (Report.objects.select_related("reporter", "claimed_by", "resolved_by",
                                            "duplicate_of").filter(pk=rid).first())
    if report is None:
        raise NotFound("There is no such report.")
    return report
