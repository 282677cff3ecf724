"""API keys: a member's named, scoped keys for the JSON API and Torznab.

A key is `trk_` + 40 hex digits (160 random bits) shown once at creation; the database
keeps its SHA-256 only. Looking a key up costs one indexed query joined to the member and
the group (no cache, so a revoked key is refused on its very next request) plus the ban
answers, which domain.moderation.selectors keeps in Redis and drops on every ban change.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from domain.accounts.models import ApiKey, ApiKeyScope, User, UserStatus
from domain.accounts.permissions import Perm, require_perm, user_has_perm
from domain.base import TargetType
from domain.errors import Conflict, DomainError, NotFound, NotPermitted, ValidationFailed
from domain.moderation.models import BanType
from domain.moderation.selectors import ip_ban_reason, user_ban_reasons
from domain.moderation.services import audit_log_write

KEY_PREFIX = "trk_"
KEY_RE = re.compile(r"^trk_[0-9a-f]{40}$")
MAX_ACTIVE_KEYS = 20
NAME_MAX = 64
# Writing last use on every request would turn each search into a write; once a minute
# (or when the address changes) is what the settings page needs.
LAST_USE_RESOLUTION = timedelta(seconds=60)


class InvalidApiKey(DomainError):
    """No such key, or revoked: Torznab's error 100, HTTP 401."""

    code = "invalid_api_key"
    http_status = 401


class AccountSuspended(NotPermitted):
    """The key is fine but its member may not use the site: Torznab's error 101."""

    code = "account_suspended"


class ScopeMissing(NotPermitted):
    """The key lacks the scope the call needs: Torznab's error 102."""

    code = "scope_missing"


def api_key_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewApiKey:
    key: ApiKey
    token: str  # shown once; never stored


def _scopes(scopes: Iterable[str]) -> list[str]:
    wanted = {str(s).strip() for s in scopes if str(s).strip()}
    unknown = wanted - set(ApiKeyScope.values)
    if unknown:
        raise ValidationFailed(f"Unknown scope: {', '.join(sorted(unknown))}.", field="scopes")
    if not wanted:
        raise ValidationFailed("Choose at least one scope.", field="scopes")
    # Stored in the enum's order, so two keys with the same rights read the same.
    return [s for s in ApiKeyScope.values if s in wanted]


def api_key_create(*, user: User, name: str, scopes: Iterable[str],
                   ip: str | None = None) -> NewApiKey:
    """Make a key for the member; the token is in the result and nowhere else."""
    require_perm(user, Perm.SITE_ACCESS, "Your account may not create API keys.")
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Give the key a name, such as Prowlarr.", field="name")
    if len(name) > NAME_MAX:
        raise ValidationFailed(f"A key name is at most {NAME_MAX} characters.", field="name")
    scope_list = _scopes(scopes)
    token = KEY_PREFIX + secrets.token_hex(20)
    with transaction.atomic():
        # The member's row lock serializes two creations racing past the count.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk").get()
        if api_keys_active(user=user).count() >= MAX_ACTIVE_KEYS:
            raise ValidationFailed(f"You have {MAX_ACTIVE_KEYS} keys already: revoke one "
                                   "you no longer use first.", field="name")
        key = ApiKey.objects.create(user=user, name=name, prefix=token[:12],
                                    key_hash=api_key_hash(token), scopes=scope_list)
        audit_log_write(action="api_key.create", actor=user, target_type=TargetType.USER,
                        target_id=user.pk, ip_address=ip,
                        metadata={"key_id": str(key.pk), "name": name, "scopes": scope_list,
                                  "prefix": key.prefix})
    return NewApiKey(key=key, token=token)


def api_key_revoke(*, user: User, key_id: uuid.UUID | str, ip: str | None = None) -> ApiKey:
    """The member revokes one of their keys; the next request with it is refused."""
    with transaction.atomic():
        try:
            key = (ApiKey.objects.select_for_update()
                   .filter(pk=uuid.UUID(str(key_id)), user=user).first())
        except ValueError:
            key = None
        if key is None:
            raise NotFound("You have no such API key.")
        if key.revoked_at is not None:
            raise Conflict("This key was already revoked.")
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_log_write(action="api_key.revoke", actor=user, target_type=TargetType.USER,
                        target_id=user.pk, ip_address=ip,
                        metadata={"key_id": str(key.pk), "name": key.name,
                                  "prefix": key.prefix})
    return key


def api_keys_active(*, user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user, revoked_at__isnull=True)


def api_keys_for_user(*, user: User) -> QuerySet[ApiKey]:
    """The member's keys, live ones first, for the settings page."""
    return ApiKey.objects.filter(user=user).order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at")


@dataclass(frozen=True)
class ApiCaller:
    user: User
    key: ApiKey

    def has(self, scope: ApiKeyScope | str) -> bool:
        return str(scope) in self.key.scopes

    def require(self, scope: ApiKeyScope) -> None:
        if not self.has(scope):
            raise ScopeMissing(f"This API key does not have the {scope.value} scope; make "
                               "one that does in your settings.")


def _refusal(user: User, ip: str | None) -> str | None:
    """Why this member may not use a key now (the login refusal's rules)."""
    reasons = user_ban_reasons(user.pk)
    if BanType.ACCOUNT in reasons or user.status == UserStatus.BANNED:
        detail = reasons.get(BanType.ACCOUNT)
        return "This account is banned" + (f": {detail}." if detail else ".")
    if user.deleted_at is not None or user.status == UserStatus.DISABLED:
        return "This account is disabled."
    if user.status == UserStatus.VALIDATING:
        return "This account is not confirmed yet."
    if ip_ban_reason(ip) is not None:
        return "Requests from your address are not allowed."
    if not user_has_perm(user, Perm.SITE_ACCESS):
        return f"Members of {user.group.display_name} may not use the site."
    return None


def api_key_authenticate(*, token: str, ip: str | None) -> ApiCaller:
    """The member and key behind `token`, or InvalidApiKey / AccountSuspended."""
    token = (token or "").strip()
    if not KEY_RE.match(token):
        raise InvalidApiKey("The API key is missing or malformed.")
    key = (ApiKey.objects.select_related("user", "user__group")
           .filter(key_hash=api_key_hash(token), revoked_at__isnull=True).first())
    if key is None:
        raise InvalidApiKey("Unknown or revoked API key.")
    user = key.user
    refusal = _refusal(user, ip)
    if refusal is not None:
        raise AccountSuspended(refusal)
    _touch(key, ip)
    return ApiCaller(user=user, key=key)


def _touch(key: ApiKey, ip: str | None) -> None:
    now = timezone.now()
    if (key.last_used_at is not None and key.last_used_ip == ip
            and now - key.last_used_at < LAST_USE_RESOLUTION):
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=ip)
    key.last_used_at, key.last_used_ip = now, ip


def scopes_parse(values: Any) -> list[str]:
    """Scopes from a form or JSON body (a list, or one comma-separated string)."""
    if isinstance(values, str):
        values = values.split(",")
    return _scopes(values or [])
