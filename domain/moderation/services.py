"""Writes for moderation: the audit log, which every area writes through; bans issued and
lifted; staff notes."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from domain.accounts.permissions import Perm, require_perm
from domain.accounts.sessions import sessions_revoke_all
from domain.base import TargetType
from domain.errors import Conflict, ValidationFailed
from domain.moderation.models import AuditLog, Ban, BanType, StaffNote
from domain.moderation.selectors import bans_invalidate
from domain.signals import ip_bans_changed_send, member_changed_send


def audit_log_write(
    *,
    action: str,
    actor: Any = None,
    target_type: TargetType | str = "",
    target_id: uuid.UUID | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
    changes: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditLog:
    """Record who did what to what. Call it inside the transaction of the change it
    records, so both commit or neither does. `action` is dotted: `user.passkey_reset`.
    `changes` maps a field to [old, new]."""
    if not transaction.get_connection().in_atomic_block:
        # Outside a transaction the row would commit even if the change it records fails.
        raise RuntimeError("audit_log_write must be called inside transaction.atomic()")
    return AuditLog.objects.create(
        action=action,
        actor=actor if getattr(actor, "pk", None) else None,
        target_type=str(target_type),
        target_id=target_id,
        ip_address=ip_address,
        user_agent=user_agent[:512],
        changes=changes or {},
        metadata=metadata or {},
    )


def staff_note_add(*, actor: Any, member: Any, body: str,
                   ip_address: str | None = None) -> Any:
    """A note staff keep on a member (never shown to them), audited."""
    require_perm(actor, Perm.USERS_WARN, "Staff notes are for staff who warn members.")
    body = str(body or "").strip()
    if not body:
        raise ValidationFailed("Write the note.", field="body")
    if len(body) > 5000:
        raise ValidationFailed("Keep notes under 5000 characters.", field="body")
    with transaction.atomic():
        note = StaffNote.objects.create(member=member, author=actor, body=body)
        audit_log_write(action="staff_note.add", actor=actor, target_type=TargetType.USER,
                        target_id=member.pk, ip_address=ip_address,
                        metadata={"note_id": str(note.pk)})
    return note


# --- Bans -----------------------------------------------------------------------------------

def ban_take_effect(ban: Ban) -> None:
    """Call inside the transaction that wrote `ban` (issued, changed or lifted): after
    commit the request guard's and the tracker's cached answers for its member, or for
    every address, are dropped; an account ban in force ends the member's sessions, open
    sockets included. The one place ban_issue, ban_revoke and Django admin share."""
    if ban.user_id is not None:
        bans_invalidate(user_id=ban.user_id)
        member_changed_send(ban.user_id)
        if ban.ban_type == BanType.ACCOUNT and ban.revoked_at is None:
            sessions_revoke_all(user_id=ban.user_id, reason="ban")
    if ban.ban_type == BanType.IP:
        bans_invalidate(ip=True)
        ip_bans_changed_send()

USER_BAN_TYPES = (BanType.ACCOUNT, BanType.UPLOAD, BanType.DOWNLOAD)


def ban_issue(
    *,
    actor: Any,
    ban_type: BanType | str,
    reason: str,
    user: Any = None,
    ip_range: str | None = None,
    email_pattern: str = "",
    expires_at: datetime | None = None,
    ip_address: str | None = None,
) -> Ban:
    """Ban a member (account, upload, download), an address range or an email pattern.

    In one transaction: the ban row and its audit row; after commit the ban caches and the
    tracker's cache of the member are dropped, and an account ban ends every session of the
    member (open sockets included)."""
    require_perm(actor, Perm.USERS_BAN)
    ban_type = BanType(str(ban_type))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Give a reason; the member will see it.", field="reason")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("The expiry must be in the future.", field="expires_at")
    fields: dict[str, Any] = {}
    if ban_type in USER_BAN_TYPES:
        if user is None:
            raise ValidationFailed("Choose the member to ban.", field="user")
        if user.pk == getattr(actor, "pk", None):
            raise ValidationFailed("You cannot ban yourself.", field="user")
        fields["user"] = user
    elif ban_type == BanType.IP:
        try:
            fields["ip_range"] = str(ipaddress.ip_network((ip_range or "").strip(),
                                                          strict=False))
        except ValueError:
            raise ValidationFailed("Enter an address or a CIDR range such as 203.0.113.0/24.",
                                   field="ip_range") from None
    else:
        pattern = (email_pattern or "").strip().lower()
        if not pattern or "@" not in pattern:
            raise ValidationFailed("Enter an email pattern such as *@spam.example.",
                                   field="email_pattern")
        fields["email_pattern"] = pattern

    with transaction.atomic():
        ban = Ban.objects.create(ban_type=ban_type, reason=reason, issued_by=actor,
                                 expires_at=expires_at, **fields)
        audit_log_write(
            action=f"ban.issue.{ban_type}", actor=actor, target_type=TargetType.BAN,
            target_id=ban.id, ip_address=ip_address,
            metadata={"user_id": str(user.pk) if user is not None else None,
                      "ip_range": fields.get("ip_range"),
                      "email_pattern": fields.get("email_pattern"), "reason": reason,
                      "expires_at": expires_at.isoformat() if expires_at else None})
        ban_take_effect(ban)
    return ban


def ban_revoke(*, actor: Any, ban: Ban, ip_address: str | None = None) -> Ban:
    """Lift a ban early, audited; caches dropped after commit."""
    require_perm(actor, Perm.USERS_BAN)
    with transaction.atomic():
        locked = Ban.objects.select_for_update().get(pk=ban.pk)
        if locked.revoked_at is not None:
            raise Conflict("This ban was already lifted.")
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor
        locked.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
        audit_log_write(action=f"ban.revoke.{locked.ban_type}", actor=actor,
                        target_type=TargetType.BAN, target_id=locked.id,
                        ip_address=ip_address,
                        metadata={"user_id": str(locked.user_id) if locked.user_id else None})
        ban_take_effect(locked)
    return locked
