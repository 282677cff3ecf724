"""Warnings: issued by staff (or by the system: hit-and-run, ratio watch), summed into the
member's warning_points, and turned into consequences by WarningThreshold rows.

Two halves, as bans have: `warning_issue` / `warning_lift` / `warning_acknowledge` check
and write; `warning_take_effect(member)` is the one trusted function that makes the
member's state follow their warnings (points, threshold bans, the tracker's cache, the
banner on their open tabs). The services, the expiry beat job and Django admin all call it.

Events (domain.events.user_group(member), type "live.event"):
    {"kind": "warnings", "points": int, "unacknowledged": [warning row, ...]}
    sent after every change, so an open tab shows or hides the banner at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from domain.accounts.models import User
from domain.accounts.permissions import Perm, require_perm, user_has_perm
from domain.base import TargetType
from domain.community.models import Notification, NotificationKind
from domain.community.notifications import notification_send
from domain.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from domain.events import WarningRow, WarningsChanged, publish
from domain.moderation.models import (
    Ban,
    Report,
    Warning,
    WarningSource,
    WarningThreshold,
)
from domain.moderation.services import audit_log_write, ban_take_effect
from domain.signals import member_changed_send

MAX_POINTS = 100
MAX_REASON = 2000


# --- Reads ------------------------------------------------------------------------------


def warnings_active(member_id: uuid.UUID | str, now: datetime | None = None
                    ) -> QuerySet[Warning]:
    now = now or timezone.now()
    return Warning.objects.filter(user_id=member_id, revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def warning_points_of(member_id: uuid.UUID | str, now: datetime | None = None) -> int:
    """The sum of the member's active warnings' points (what warning_points should say)."""
    return int(warnings_active(member_id, now).aggregate(s=Sum("points"))["s"] or 0)


def warnings_unacknowledged(member_id: uuid.UUID | str) -> list[Warning]:
    """Active warnings the member has not acknowledged yet: the banner shows these."""
    return list(warnings_active(member_id).filter(acknowledged_at__isnull=True)
                .order_by("created_at"))


def warnings_visible(viewer: Any, member: User) -> QuerySet[Warning]:
    """A member's warnings, for the member themself or staff who may warn; NotPermitted
    for anyone else (warnings are private)."""
    if getattr(viewer, "pk", None) != member.pk and not user_has_perm(viewer, Perm.USERS_WARN):
        raise NotPermitted("A member's warnings are visible to them and to staff.")
    return Warning.objects.filter(user=member).select_related("issued_by", "revoked_by")


def warning_row(warning: Warning) -> WarningRow:
    """What a member's page and socket show of one warning."""
    return {
        "id": str(warning.id), "reason": warning.reason, "points": warning.points,
        "created_at": warning.created_at.isoformat(),
        "expires_at": warning.expires_at.isoformat() if warning.expires_at else None,
        "source": warning.source,
    }


# --- The trusted half ---------------------------------------------------------------------


def _threshold_bans_wanted(points: int) -> dict[str, WarningThreshold]:
    wanted: dict[str, WarningThreshold] = {}
    for threshold in WarningThreshold.objects.filter(is_active=True, points__lte=points):
        wanted[threshold.consequence] = threshold
    return wanted


def warning_take_effect(member: User | uuid.UUID | str) -> int:
    """Make the member's state follow their warnings; returns their points.

    Trusted (no permission check): call it from inside or outside a transaction after any
    change to a member's warnings or to the thresholds. In one transaction it recomputes
    warning_points as the sum of active warnings, issues a system ban (`from_warnings`)
    for each threshold now reached and lifts the ones no longer reached (each through
    ban_take_effect: the ban caches, the tracker's cache, sessions for an account ban),
    audits what changed, and after commit drops the tracker's cached member record and
    tells the member's open tabs (banner shown or hidden)."""
    member_id = member.pk if isinstance(member, User) else member
    now = timezone.now()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=member_id).first()
        if user is None:
            return 0
        points = warning_points_of(user.pk, now)
        old_points = user.warning_points
        if points != old_points:
            User.objects.filter(pk=user.pk).update(warning_points=points, updated_at=now)
            user.warning_points = points
            audit_log_write(action="warning.points", actor=None, target_type=TargetType.USER,
                            target_id=user.pk,
                            changes={"warning_points": [old_points, points]})
        wanted = _threshold_bans_wanted(points)
        current = {b.ban_type: b for b in Ban.objects.select_for_update().filter(
            user_id=user.pk, from_warnings=True, revoked_at__isnull=True)}
        for ban_type, ban in current.items():
            if ban_type not in wanted:
                ban.revoked_at = now
                ban.save(update_fields=["revoked_at", "updated_at"])
                audit_log_write(action=f"ban.revoke.{ban_type}", actor=None,
                                target_type=TargetType.BAN, target_id=ban.id,
                                metadata={"user_id": str(user.pk), "warning_points": points,
                                          "reason": "below the warning threshold"})
                ban_take_effect(ban)
        for ban_type, threshold in wanted.items():
            if ban_type in current:
                continue
            ban = Ban.objects.create(
                ban_type=ban_type, user=user, from_warnings=True,
                reason=(threshold.description
                        or f"{points} warning points (limit {threshold.points})"))
            audit_log_write(action=f"ban.issue.{ban_type}", actor=None,
                            target_type=TargetType.BAN, target_id=ban.id,
                            metadata={"user_id": str(user.pk), "warning_points": points,
                                      "threshold": threshold.points, "reason": ban.reason})
            ban_take_effect(ban)
        member_changed_send(user.pk)
        _publish_banner(user.pk, points)
    return points


def _publish_banner(member_id: Any, points: int) -> None:
    banner = [warning_row(w) for w in warnings_unacknowledged(member_id)]
    # `unread` keeps the tab's notification badge right (live.js reads it off every bare
    # event; without it the badge would count this event as a notification).
    unread = Notification.objects.filter(user_id=member_id, read_at__isnull=True).count()
    publish(WarningsChanged(user_id=member_id, payload={
        "kind": "warnings", "points": points, "unacknowledged": banner, "unread": unread}))


def warnings_take_effect_due(*, now: datetime | None = None) -> int:
    """The beat job's work: every member whose stored points differ from their active
    warnings (a warning ran out) or who holds a threshold ban, brought up to date.
    Returns how many members changed."""
    now = now or timezone.now()
    active_sum = (Warning.objects.filter(user_id=OuterRef("pk"), revoked_at__isnull=True)
                  .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                  .order_by().values("user_id").annotate(s=Sum("points")).values("s"))
    stale = (User.objects.annotate(
        active=Coalesce(Subquery(active_sum, output_field=IntegerField()), Value(0)))
        .exclude(warning_points=F("active")).values_list("pk", flat=True))
    changed = 0
    for member_id in list(stale[:1000]):
        warning_take_effect(member_id)
        changed += 1
    return changed


def warnings_recheck_all() -> int:
    """After the thresholds change: every member with points or a threshold ban."""
    ids = set(User.objects.filter(warning_points__gt=0).values_list("pk", flat=True))
    ids |= set(Ban.objects.filter(from_warnings=True, revoked_at__isnull=True)
               .values_list("user_id", flat=True))
    for member_id in ids:
        warning_take_effect(member_id)
    return len(ids)


# --- The checked half ---------------------------------------------------------------------


def _clean_points(points: Any) -> int:
    try:
        value = int(points)
    except (TypeError, ValueError):
        raise ValidationFailed("Points must be a whole number.", field="points") from None
    if not 1 <= value <= MAX_POINTS:
        raise ValidationFailed(f"Points are from 1 to {MAX_POINTS}.", field="points")
    return value


def warning_issue(
    *,
    actor: User | None,
    member: User,
    reason: str,
    points: int,
    expires_at: datetime | None,
    source: WarningSource | str | None = None,
    report: Report | None = None,
    target_type: TargetType | str = "",
    target_id: uuid.UUID | None = None,
    ip_address: str | None = None,
) -> Warning:
    """Warn a member. `actor=None` is the system (beat jobs: hit-and-run, ratio watch);
    a staff actor needs Perm.USERS_WARN and must outrank the member. In one transaction:
    the warning, its audit row, the member's notification, and warning_take_effect
    (points, threshold bans, tracker cache, the banner on their open tabs)."""
    if actor is not None:
        require_perm(actor, Perm.USERS_WARN, "Only staff who may warn members can do this.")
        if actor.pk == member.pk:
            raise ValidationFailed("You cannot warn yourself.", field="member")
        if member.group.rank >= actor.group.rank:
            raise NotPermitted("You can only warn members of a lower class than yours.")
    source = WarningSource(str(source)) if source else (
        WarningSource.STAFF if actor is not None else WarningSource.SYSTEM)
    reason = str(reason or "").strip()
    if not reason:
        raise ValidationFailed("Give a reason; the member will see it.", field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationFailed(f"Keep the reason under {MAX_REASON} characters.",
                               field="reason")
    value = _clean_points(points)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("The expiry must be in the future.", field="expires_at")
    if member.deleted_at is not None:
        raise NotFound("There is no such member.")
    with transaction.atomic():
        warning = Warning.objects.create(
            user=member, issued_by=actor, reason=reason, points=value, expires_at=expires_at,
            source=source, report=report, target_type=str(target_type or ""),
            target_id=target_id)
        audit_log_write(action="warning.issue", actor=actor, target_type=TargetType.WARNING,
                        target_id=warning.id, ip_address=ip_address,
                        metadata={"user_id": str(member.pk), "points": value,
                                  "reason": reason, "source": source.value,
                                  "expires_at": expires_at.isoformat() if expires_at else None,
                                  "report_id": str(report.pk) if report else None,
                                  "target_type": str(target_type or ""),
                                  "target_id": str(target_id) if target_id else None})
        until = f" until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
        notification_send(
            user_id=member.pk, kind=NotificationKind.WARNING,
            title=f"You received a warning ({value} point{'s' if value != 1 else ''}){until}",
            body=reason, url="/warnings/", actor_id=actor.pk if actor else None,
            target_type=TargetType.WARNING, target_id=warning.id)
        warning_take_effect(member)
    return warning


def warning_lift(*, actor: User | None, warning: Warning | uuid.UUID | str, reason: str = "",
                 ip_address: str | None = None) -> Warning:
    """Lift a warning early (staff with Perm.USERS_WARN, or the system for an accepted
    appeal); audited, notified, and the member's state follows (warning_take_effect)."""
    if actor is not None:
        require_perm(actor, Perm.USERS_WARN, "Only staff who may warn members can do this.")
    warning_id = warning.pk if isinstance(warning, Warning) else warning
    with transaction.atomic():
        locked = Warning.objects.select_for_update().filter(pk=_uuid(warning_id)).first()
        if locked is None:
            raise NotFound("There is no such warning.")
        if locked.revoked_at is not None:
            raise Conflict("This warning was already lifted.", code="already_lifted")
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor
        locked.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
        audit_log_write(action="warning.lift", actor=actor, target_type=TargetType.WARNING,
                        target_id=locked.id, ip_address=ip_address,
                        metadata={"user_id": str(locked.user_id), "reason": reason})
        notification_send(
            user_id=locked.user_id, kind=NotificationKind.WARNING_LIFTED,
            title="A warning of yours was lifted", body=reason, url="/warnings/",
            actor_id=actor.pk if actor else None, target_type=TargetType.WARNING,
            target_id=locked.id)
        warning_take_effect(locked.user_id)
    return locked


def warning_acknowledge(*, member: User, warning_id: Any) -> Warning:
    """The member has read the warning: the banner stops showing it (on every tab)."""
    with transaction.atomic():
        warning = (Warning.objects.select_for_update()
                   .filter(pk=_uuid(warning_id), user_id=member.pk).first())
        if warning is None:
            raise NotFound("There is no such warning.")
        if warning.acknowledged_at is None:
            warning.acknowledged_at = timezone.now()
            warning.save(update_fields=["acknowledged_at", "updated_at"])
            audit_log_write(action="warning.acknowledge", actor=member,
                            target_type=TargetType.WARNING, target_id=warning.id)
            _publish_banner(member.pk, member.warning_points)
    return warning


def _uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound("There is no such warning.") from None

