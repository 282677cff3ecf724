"""Writes for moderation. Starts with the audit log, which every area writes through."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from domain.base import TargetType
from domain.moderation.models import AuditLog


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
    from domain.accounts.permissions import Perm, require_perm
    from domain.errors import ValidationFailed
    from domain.moderation.models import StaffNote

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
