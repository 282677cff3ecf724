"""Test data: personas and small factories. Every factory writes real rows."""

from __future__ import annotations

import itertools
from typing import Any

from domain.accounts.models import User, UserGroup, UserStatus

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery-staple"

# Persona -> seed group name.
PERSONAS = {
    "member": "member",
    "uploader": "uploader",
    "vip": "vip",
    "moderator": "moderator",
    "sysop": "sysop",
    "banned": "banned",
}


def make_user(persona: str = "member", *, username: str | None = None,
              password: str = PASSWORD, **extra: Any) -> User:
    n = next(_seq)
    username = username or f"{persona}{n}"
    extra.setdefault("email", f"{username}@example.test")
    extra.setdefault(
        "status", UserStatus.BANNED if persona == "banned" else UserStatus.ACTIVE
    )
    group = UserGroup.objects.get(name=PERSONAS.get(persona, persona))
    return User.objects.create_user(username=username, password=password, group=group,
                                    **extra)
