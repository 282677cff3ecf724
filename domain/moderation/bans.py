"""Ban selectors: is this member, address or email banned right now? The tracker, login,
registration and every feature that a ban can take away ask here."""

from __future__ import annotations

import uuid

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
