"""Ban selectors: is this member, address or email banned right now? The tracker, login,
registration and every feature that a ban can take away ask here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from domain.moderation.models import Ban, BanType


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
    from django.core.cache import cache

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
    import ipaddress

    from django.core.cache import cache

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
    from django.core.cache import cache
    from django.db import transaction

    def drop() -> None:
        if user_id is not None:
            cache.delete(_user_key(user_id))
        if ip:
            try:
                cache.incr(_ip_generation_key())
            except ValueError:
                cache.set(_ip_generation_key(), 1, None)

    transaction.on_commit(drop)


# --- Writes ---------------------------------------------------------------------------------


def ban_take_effect(ban: Ban) -> None:
    """Call inside the transaction that wrote `ban` (issued, changed or lifted): after
    commit the request guard's and the tracker's cached answers for its member, or for
    every address, are dropped; an account ban in force ends the member's sessions, open
    sockets included. The one place ban_issue, ban_revoke and Django admin share."""
    from domain.tracker.cache import invalidate_user

    if ban.user_id is not None:
        bans_invalidate(user_id=ban.user_id)
        invalidate_user(ban.user_id)
        if ban.ban_type == BanType.ACCOUNT and ban.revoked_at is None:
            from domain.accounts.sessions import sessions_revoke_all

            sessions_revoke_all(user_id=ban.user_id, reason="ban")
    if ban.ban_type == BanType.IP:
        bans_invalidate(ip=True)
        _tracker_ip_bans_invalidate()

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
    import ipaddress

    from django.db import transaction

    from domain.accounts.permissions import Perm, require_perm
    from domain.base import TargetType
    from domain.errors import ValidationFailed
    from domain.moderation.services import audit_log_write

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
    from django.db import transaction

    from domain.accounts.permissions import Perm, require_perm
    from domain.base import TargetType
    from domain.errors import Conflict
    from domain.moderation.services import audit_log_write

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


def _tracker_ip_bans_invalidate() -> None:
    # The tracker caches its own per-address answers; its invalidation hook is looked up
    # rather than imported so this module does not depend on the tracker's internals.
    from domain.tracker import cache as tracker_cache

    hook = getattr(tracker_cache, "invalidate_ip_bans", None)
    if hook is not None:
        hook()
