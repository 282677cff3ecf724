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


def make_torrent(*, name: str | None = None, uploader: User | None = None,
                 category: Any = None, status: str = "approved", version: str = "v1",
                 size: int = 1_048_576, **extra: Any) -> Any:
    """A torrent built from a real bencoded info dict (hashes computed from its bytes)."""
    import hashlib
    import os

    import bencodepy

    from domain.catalog.models import Torrent, TorrentCategory

    n = next(_seq)
    name = name or f"Test.Torrent.{n}"
    piece_length = 262_144
    pieces = os.urandom(20 * max(1, -(-size // piece_length)))
    info: dict[bytes, Any] = {b"name": name.encode(), b"piece length": piece_length,
                              b"length": size, b"pieces": pieces, b"private": 1}
    if version in ("v2", "hybrid"):
        info[b"meta version"] = 2
        info[b"file tree"] = {name.encode(): {b"": {b"length": size,
                                                    b"pieces root": os.urandom(32)}}}
        if version == "v2":
            del info[b"pieces"], info[b"length"]
    raw = bencodepy.encode(info)
    return Torrent.objects.create(
        name=name,
        info_hash_v1=hashlib.sha1(raw).digest() if version != "v2" else None,  # noqa: S324
        info_hash_v2=hashlib.sha256(raw).digest() if version != "v1" else None,
        version=version,
        category=category or TorrentCategory.objects.get(slug="movies-hd"),
        uploader=uploader,
        status=status,
        size=size,
        file_count=1,
        piece_length=piece_length,
        info_dict=raw,
        **extra,
    )
