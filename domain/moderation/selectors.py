"""Reads for moderation.

Bans: is this member, address or email banned right now? The tracker, login, registration
and every feature that a ban can take away ask here; the answers are cached (below).

The staff pages: a member's bans and staff notes, the audit log (member lookup and
addresses are domain.tracker.addresses). Each checks the reader's permission itself, so a
view cannot forget to."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from domain.accounts.models import User
from domain.accounts.permissions import Perm, require_perm
from domain.errors import ValidationFailed
from domain.moderation.models import AuditLog, Ban, BanType, StaffNote

# --- Bans -------------------------------------------------------------------------------------

def bans_active() -> QuerySet[Ban]:
    now = timezone.now()
    return Ban.objects.filter(revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def ban_active_for_user(user_id: uuid.UUID, ban_type: BanType | str) -> Ban | None:
    """The member's active ban of this type (account, upload, download), if any."""
    return bans_active().filter(user_id=user_id, ban_type=str(ban_type)).first()


def ban_for_ip(ip: str) -> Ban | None:
    """An active IP ban whose range contains `ip` (GiST: bans_ip_range_gist)."""
    return (bans_active().filter(ban_type=BanType.IP)
            .extra(where=["ip_range >>= %s::inet"], params=[ip]).first())


def ban_for_email(email: str) -> Ban | None:
    """An active email ban whose pattern matches (`*` is any run of characters; case-
    insensitive): `*@spam.example`, `someone@example.org`."""
    return (bans_active().filter(ban_type=BanType.EMAIL)
            .extra(where=["lower(%s) LIKE replace(replace(replace(lower(email_pattern), "
                          "'_', '\\_'), '%%', '\\%%'), '*', '%%')"], params=[email])
            .first())


# --- Cached checks (login, every authenticated request, the tracker) -----------------------
#
# Each request and each announce asks "is this member or address banned"; the answers are
# cached in Redis for BAN_CACHE_SECONDS. Issuing or revoking a ban drops the member's key
# after commit; IP bans bump a generation number that every cached address answer carries,
# so one write retires them all without knowing which addresses were cached.

BAN_CACHE_SECONDS = 60
_NONE = ""  # cached "not banned" (None would read as a cache miss)


def _user_key(user_id: uuid.UUID | str) -> str:
    return f"bans:user:{user_id}"


def _ip_generation_key() -> str:
    return "bans:ip:generation"


def _ban_text(ban: Ban) -> str:
    until = (f" until {ban.expires_at:%Y-%m-%d %H:%M} UTC" if ban.expires_at is not None
             else "")
    return f"{ban.reason}{until}"


def user_ban_reasons(user_id: uuid.UUID | str) -> dict[str, str]:
    """{ban_type: reason text} of the member's active account/upload/download bans,
    cached. Empty when none."""
    key = _user_key(user_id)
    cached = cache.get(key)
    if cached is not None:
        return dict(cached)
    reasons: dict[str, str] = {}
    for ban in bans_active().filter(user_id=user_id).order_by("created_at"):
        reasons.setdefault(ban.ban_type, _ban_text(ban))
    cache.set(key, reasons, BAN_CACHE_SECONDS)
    return reasons


def ip_ban_reason(ip: str | None) -> str | None:
    """The reason of an active ban covering `ip`, cached; None when not banned."""
    try:
        ip = str(ipaddress.ip_address((ip or "").strip()))
    except ValueError:
        return None  # not an address: no range can cover it
    generation = cache.get(_ip_generation_key()) or 0
    key = f"bans:ip:{generation}:{ip}"
    cached = cache.get(key)
    if cached is not None:
        return cached or None
    ban = ban_for_ip(ip)
    reason = _ban_text(ban) if ban is not None else _NONE
    cache.set(key, reason, BAN_CACHE_SECONDS)
    return reason or None


def announce_denial_reason(user_id: uuid.UUID | str, ip: str | None, *,
                           leeching: bool = False) -> str | None:
    """THE check the tracker makes per announce: a `failure reason` to send back, or None
    to serve the announce. Account ban or a banned address refuses every announce; a
    download ban refuses announces that still leech (left > 0). Two Redis reads at most,
    no database work once cached; every ban change invalidates it."""
    reasons = user_ban_reasons(user_id)
    if BanType.ACCOUNT in reasons:
        return f"Your account is banned: {reasons[BanType.ACCOUNT]}"
    if leeching and BanType.DOWNLOAD in reasons:
        return f"Your download rights are suspended: {reasons[BanType.DOWNLOAD]}"
    ip_reason = ip_ban_reason(ip)
    if ip_reason is not None:
        return f"Your address is banned: {ip_reason}"
    return None


def bans_invalidate(*, user_id: uuid.UUID | str | None = None, ip: bool = False) -> None:
    """Drop cached ban answers after commit (for the member, and/or every address)."""
    def drop() -> None:
        if user_id is not None:
            cache.delete(_user_key(user_id))
        if ip:
            try:
                cache.incr(_ip_generation_key())
            except ValueError:
                cache.set(_ip_generation_key(), 1, None)

    transaction.on_commit(drop)


# --- Staff pages ----------------------------------------------------------------------------

AUDIT_PAGE = 100


def member_bans(viewer: Any, member: User) -> QuerySet[Ban]:
    require_perm(viewer, Perm.USERS_VIEW_PRIVATE, "A member's bans are for staff.")
    return Ban.objects.filter(user=member).select_related("issued_by", "revoked_by")


def staff_notes_of(viewer: Any, member: User) -> QuerySet[StaffNote]:
    require_perm(viewer, Perm.USERS_WARN, "Staff notes are for staff who warn members.")
    return StaffNote.objects.filter(member=member).select_related("author")


def _uuid_or_error(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationFailed("Enter an id such as 3f2c...-... (a UUID).", field=field) from None


def audit_log_search(viewer: Any, *, action: str = "", actor: str = "", target_id: str = "",
                     member_id: uuid.UUID | None = None, since: datetime | None = None,
                     until: datetime | None = None, before: datetime | None = None,
                     limit: int = AUDIT_PAGE) -> list[AuditLog]:
    """Audit rows, newest first, filtered: action prefix ("warning." or "ban.issue"),
    actor's name, a target id, rows about a member (as target, actor or in metadata),
    a time range; `before` pages on (created_at of the last row shown)."""
    require_perm(viewer, Perm.AUDIT_VIEW, "The audit log is for staff who may read it.")
    rows = AuditLog.objects.select_related("actor")
    if action.strip():
        rows = rows.filter(action__startswith=action.strip()[:64])
    if actor.strip():
        rows = rows.filter(actor__username__iexact=actor.strip()[:32])
    if target_id.strip():
        rows = rows.filter(target_id=_uuid_or_error(target_id.strip(), "target_id"))
    if member_id is not None:
        rows = rows.filter(Q(target_id=member_id) | Q(actor_id=member_id)
                           | Q(metadata__user_id=str(member_id)))
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    if before is not None:
        rows = rows.filter(created_at__lt=before)
    return list(rows.order_by("-created_at")[:max(1, min(limit, 500))])
