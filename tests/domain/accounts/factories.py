"""Accounts test data: extra personas (power user, validating), logged-in clients with
their own address, TOTP codes, invites."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pyotp
from django.test import Client
from django.utils import timezone

from domain.accounts.models import Invite, User, UserGroup, UserStatus, UserTwoFactor
from tests.factories import PASSWORD, make_user

_ip = itertools.count(1)


def fresh_ip() -> str:
    """A test-only address per client, so rate limits and IP bans of one test (or of other
    test processes sharing Redis) never reach another."""
    n = next(_ip) + (id(_ip) % 50_000) * 64
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def make_persona(persona: str, **extra: Any) -> User:
    if persona == "validating":
        extra.setdefault("status", UserStatus.VALIDATING)
        return make_user("validating", **extra)
    if persona == "power_user":
        return make_user("power_user", **extra)
    return make_user(persona, **extra)


def client_for(user: User | None = None, *, ip: str | None = None,
               enforce_csrf_checks: bool = False) -> Client:
    client = Client(REMOTE_ADDR=ip or fresh_ip(), enforce_csrf_checks=enforce_csrf_checks)
    if user is not None:
        client.force_login(user)
    return client


def enable_two_factor(user: User) -> pyotp.TOTP:
    secret = pyotp.random_base32()
    UserTwoFactor.objects.create(user=user, secret=secret, is_enabled=True,
                                 confirmed_at=timezone.now())
    return pyotp.TOTP(secret)


def make_invite(inviter: User, email: str = "", **extra: Any) -> Invite:
    extra.setdefault("expires_at", timezone.now() + timedelta(days=7))
    return Invite.objects.create(inviter=inviter, email=email or f"new{next(_ip)}@example.test",
                                 **extra)


def group(name: str) -> UserGroup:
    return UserGroup.objects.get(name=name)


__all__ = ["PASSWORD", "client_for", "enable_two_factor", "fresh_ip", "group",
           "make_invite", "make_persona"]
