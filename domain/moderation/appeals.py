"""Appeals: a member appeals one action taken against them — a ban, a warning, the
rejection of their upload — once. The appeal waits in the moderation queue (source
APPEAL, the appealed ban/warning/torrent as its target); staff accept it (the action is
undone through the same services that undo it anywhere: ban_revoke, warning_lift,
torrent_moderate) or deny it with a reason. The member is told either way.

A banned member cannot log in: they reach their appeals through a signed link the banned
page gives them (`appeal_token`), valid APPEAL_TOKEN_DAYS.

Bans and warnings are moderation's own. Actions other areas take (the catalog's rejection
of an upload) are appealed through the AppealKind that area registers when Django starts
(domain/catalog/moderation_hooks.py), so moderation imports nothing of theirs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from domain.accounts.models import User
from domain.accounts.permissions import Perm, require_perm, user_has_perm
from domain.base import TargetType
from domain.community.models import NotificationKind
from domain.community.notifications import notification_send
from domain.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from domain.events import ModerationItem, ModerationItemPayload, ModerationResolved, publish
from domain.moderation.models import (
    Appeal,
    AppealDecision,
    AppealStatus,
    Ban,
    ModerationQueueItem,
    QueueSource,
    QueueStatus,
    Warning,
)
from domain.moderation.services import audit_log_write, ban_revoke
from domain.moderation.warnings import warning_lift

APPEAL_TOKEN_DAYS = 30
MAX_TEXT = 5000
_SALT = "moderation.appeal"
OPEN_QUEUE = (QueueStatus.PENDING, QueueStatus.CLAIMED, QueueStatus.ESCALATED)
# Who may decide an appeal of each kind: the permission that undoes the action.
DECIDE_PERM = {TargetType.BAN: Perm.USERS_BAN, TargetType.WARNING: Perm.USERS_WARN,
               TargetType.TORRENT: Perm.TORRENTS_MODERATE}


def appeal_token(user_id: uuid.UUID | str) -> str:
    return signing.dumps({"u": str(user_id)}, salt=_SALT, compress=True)


def appeal_token_user(token: str) -> User:
    """The member a token names; NotFound for a bad, forged or expired token."""
    try:
        data = signing.loads(str(token), salt=_SALT, max_age=APPEAL_TOKEN_DAYS * 86400)
        user = User.objects.select_related("group").filter(
            pk=uuid.UUID(str(data["u"])), deleted_at__isnull=True).first()
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        user = None
    if user is None:
        raise NotFound("This appeal link is not valid (or has expired); open the site again "
                       "to get a new one.")
    return user


@dataclass(frozen=True)
class Appealable:
    target_type: str
    target_id: uuid.UUID
    title: str  # "Account ban: ratio cheating"
    detail: str
    appeal: Appeal | None  # the appeal already filed, if any


@dataclass(frozen=True)
class AppealKind:
    """How an action another area takes is appealed (inside the caller's transaction)."""
    # actions(member, appealed): the member's actions of this kind that may be appealed,
    # and those in `appealed` (their appeals of this kind, by target id) whatever became
    # of them, newest first.
    actions: Callable[[User, dict[uuid.UUID, Appeal]], list[Appealable]]
    # hold(member, target_id): the member's action, locked; None when there is none;
    # Conflict when it can no longer be appealed.
    hold: Callable[[User, uuid.UUID], Any]
    # undo(actor=, target_id=, note=, ip_address=): the appeal is accepted; nothing to do
    # when the action was already undone.
    undo: Callable[..., None]


_KINDS: dict[str, AppealKind] = {}


def appeal_kind_register(target_type: str, kind: AppealKind) -> None:
    _KINDS[str(target_type)] = kind


def appealable_actions(member: User) -> list[Appealable]:
    """What the member may appeal (active bans and warnings, rejected uploads), each with
    the appeal they filed, if any; plus actions already appealed that have ended."""
    now = timezone.now()
    appeals = {(a.target_type, a.target_id): a
               for a in Appeal.objects.filter(appellant=member)}
    rows: list[Appealable] = []
    bans = Ban.objects.filter(user=member).filter(
        Q(revoked_at__isnull=True, from_warnings=False)
        & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        | Q(pk__in=[tid for (tt, tid) in appeals if tt == TargetType.BAN]))
    for ban in bans.order_by("-created_at"):
        rows.append(Appealable(TargetType.BAN, ban.pk,
                               f"{ban.get_ban_type_display()} ban: {ban.reason}",
                               f"since {ban.created_at:%Y-%m-%d}",
                               appeals.get((TargetType.BAN, ban.pk))))
    warnings = Warning.objects.filter(user=member).filter(
        Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        | Q(pk__in=[tid for (tt, tid) in appeals if tt == TargetType.WARNING]))
    for warning in warnings.order_by("-created_at"):
        rows.append(Appealable(TargetType.WARNING, warning.pk,
                               f"Warning ({warning.points} points): {warning.reason}",
                               f"since {warning.created_at:%Y-%m-%d}",
                               appeals.get((TargetType.WARNING, warning.pk))))
    for target_type, kind in _KINDS.items():
        rows.extend(kind.actions(member, {tid: appeal for (tt, tid), appeal in appeals.items()
                                          if tt == target_type}))
    return rows


def _appealed_action(member: User, target_type: str, target_id: uuid.UUID) -> Any:
    gone = NotFound("There is no such action of yours to appeal.")
    if target_type == TargetType.BAN:
        ban = Ban.objects.select_for_update().filter(pk=target_id, user=member).first()
        if ban is None:
            raise gone
        if ban.from_warnings:
            raise ValidationFailed("This ban follows from your warning points: appeal the "
                                   "warnings instead.", field="target_id")
        if ban.revoked_at is not None or (ban.expires_at and ban.expires_at <= timezone.now()):
            raise Conflict("This ban is no longer in force.", code="ended")
        return ban
    if target_type == TargetType.WARNING:
        warning = Warning.objects.select_for_update().filter(pk=target_id, user=member).first()
        if warning is None:
            raise gone
        if not warning.is_active():
            raise Conflict("This warning is no longer in force.", code="ended")
        return warning
    if target_type in _KINDS:
        action = _KINDS[target_type].hold(member, target_id)
        if action is None:
            raise gone
        return action
    raise ValidationFailed("That cannot be appealed.", field="target_type")


def _queue_payload(item: ModerationQueueItem, appeal: Appeal) -> ModerationItemPayload:
    return {"kind": "queue", "id": str(item.pk), "target_type": item.target_type,
            "target_id": str(item.target_id), "source": item.source, "status": item.status,
            "summary": item.summary, "priority": item.priority, "claimed_by": None,
            "appeal_id": str(appeal.pk), "url": f"/staff/appeals/{appeal.pk}/",
            "created_at": item.created_at.isoformat()}


def appeal_file(*, appellant: User, target_type: str, target_id: Any, text: str,
                ip_address: str | None = None) -> Appeal:
    """Appeal an action taken against `appellant` (who may be banned: no site permission
    is asked, only that the action is theirs and in force). Once per action."""
    text = str(text or "").strip()
    if not text:
        raise ValidationFailed("Say why the decision should change.", field="text")
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"Keep it under {MAX_TEXT} characters.", field="text")
    try:
        tid = uuid.UUID(str(target_id))
    except ValueError:
        raise NotFound("There is no such action of yours to appeal.") from None
    kind = str(target_type)
    try:
        with transaction.atomic():
            action = _appealed_action(appellant, kind, tid)
            appeal = Appeal.objects.create(appellant=appellant, target_type=kind,
                                           target_id=tid, text=text)
            if isinstance(action, Ban | Warning):
                action.appeal_status = AppealStatus.PENDING
                action.appeal_text = text
                action.save(update_fields=["appeal_status", "appeal_text", "updated_at"])
            item = (ModerationQueueItem.objects.select_for_update()
                    .filter(target_type=kind, target_id=tid, status__in=OPEN_QUEUE).first())
            if item is None:
                item = ModerationQueueItem.objects.create(
                    target_type=kind, target_id=tid, source=QueueSource.APPEAL, priority=1,
                    summary=f"Appeal by {appellant.username}: {text}"[:255],
                    submitted_by=appellant)
                publish(ModerationItem(payload=_queue_payload(item, appeal)))
            audit_log_write(action="appeal.file", actor=appellant, target_type=kind,
                            target_id=tid, ip_address=ip_address,
                            metadata={"appeal_id": str(appeal.pk), "text": text[:1000]})
    except IntegrityError:
        raise Conflict("You have already appealed this; each action is appealed once.",
                       code="already_appealed") from None
    return appeal


def appeal_for_staff(viewer: Any, appeal_id: Any) -> Appeal:
    if not any(user_has_perm(viewer, p) for p in DECIDE_PERM.values()):
        raise NotPermitted("Appeals are decided by staff.")
    try:
        aid = uuid.UUID(str(appeal_id))
    except ValueError:
        raise NotFound("There is no such appeal.") from None
    appeal = Appeal.objects.select_related("appellant", "decided_by").filter(pk=aid).first()
    if appeal is None:
        raise NotFound("There is no such appeal.")
    return appeal


def appeal_decide(*, actor: User, appeal_id: Any, accept: bool, note: str = "",
                  ip_address: str | None = None) -> Appeal:
    """Accept (the action is undone) or deny (a reason is required) a pending appeal."""
    note = str(note or "").strip()[:MAX_TEXT]
    if not accept and not note:
        raise ValidationFailed("Give the reason for the denial; the member will see it.",
                               field="note")
    try:
        aid = uuid.UUID(str(appeal_id))
    except ValueError:
        raise NotFound("There is no such appeal.") from None
    now = timezone.now()
    with transaction.atomic():
        appeal = Appeal.objects.select_for_update().filter(pk=aid).first()
        if appeal is None:
            raise NotFound("There is no such appeal.")
        require_perm(actor, DECIDE_PERM[TargetType(appeal.target_type)],
                     "Your account may not decide this kind of appeal.")
        if appeal.appellant_id == actor.pk:
            raise ValidationFailed("You cannot decide your own appeal.")
        if appeal.status != AppealDecision.PENDING:
            raise Conflict(f"This appeal was already {appeal.status}.", code="decided")
        # Read before undoing: undoing may close the target's open items itself (the
        # catalog's torrent_moderate does).
        items = list(ModerationQueueItem.objects.filter(
            target_type=appeal.target_type, target_id=appeal.target_id,
            source=QueueSource.APPEAL, status__in=OPEN_QUEUE).values_list("pk", flat=True))
        if accept:
            if appeal.target_type == TargetType.BAN:
                ban = Ban.objects.filter(pk=appeal.target_id).first()
                if ban is not None and ban.revoked_at is None:
                    ban_revoke(actor=actor, ban=ban, ip_address=ip_address)
            elif appeal.target_type == TargetType.WARNING:
                warning = Warning.objects.filter(pk=appeal.target_id).first()
                if warning is not None and warning.revoked_at is None:
                    warning_lift(actor=actor, warning=warning,
                                 reason=note or "Appeal accepted", ip_address=ip_address)
            else:
                _KINDS[appeal.target_type].undo(actor=actor, target_id=appeal.target_id,
                                                note=note or "Appeal accepted",
                                                ip_address=ip_address)
        appeal.status = AppealDecision.ACCEPTED if accept else AppealDecision.DENIED
        appeal.decided_by, appeal.decided_at, appeal.decision_note = actor, now, note
        appeal.save(update_fields=["status", "decided_by", "decided_at", "decision_note",
                                   "updated_at"])
        mirrored = AppealStatus.ACCEPTED if accept else AppealStatus.REJECTED
        mirror = {"appeal_status": mirrored, "appeal_decided_by": actor,
                  "appeal_decided_at": now, "updated_at": now}
        if appeal.target_type == TargetType.BAN:
            Ban.objects.filter(pk=appeal.target_id).update(**mirror)
        elif appeal.target_type == TargetType.WARNING:
            Warning.objects.filter(pk=appeal.target_id).update(**mirror)
        status = QueueStatus.APPROVED if accept else QueueStatus.REJECTED
        ModerationQueueItem.objects.filter(pk__in=items).update(
            status=status, resolved_by=actor, resolved_at=now, resolution_note=note,
            updated_at=now)
        for item_id in items:
            publish(ModerationResolved(payload={
                "kind": "queue", "id": str(item_id), "status": status.value,
                "resolved_by": actor.username}))
        audit_log_write(action="appeal.accept" if accept else "appeal.deny", actor=actor,
                        target_type=appeal.target_type, target_id=appeal.target_id,
                        ip_address=ip_address,
                        metadata={"appeal_id": str(appeal.pk), "note": note,
                                  "appellant_id": str(appeal.appellant_id)})
        verdict = "accepted" if accept else "denied"
        notification_send(
            user_id=appeal.appellant_id, kind=NotificationKind.MODERATION_DECISION,
            title=f"Your appeal was {verdict}", body=note, url="/appeals/",
            actor_id=actor.pk, target_type=appeal.target_type, target_id=appeal.target_id)
    return appeal


def appeals_pending() -> list[Appeal]:
    return list(Appeal.objects.filter(status=AppealDecision.PENDING)
                .select_related("appellant").order_by("created_at")[:200])
