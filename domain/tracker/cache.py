"""The tracker's lookup cache and its explicit invalidation.

The announce path resolves passkey -> member and info_hash -> torrent from Redis, never
the ORM. Anything that changes what an announce may do (passkey reset, ban, group change,
torrent approval, rejection or deletion, freeleech change) calls one of the `invalidate_*`
functions below inside its transaction; the keys are dropped after commit, so the next
announce re-reads the database.
"""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.db import transaction


def passkey_key(passkey: str) -> str:
    return f"tracker:passkey:{passkey}"


def user_key(user_id: uuid.UUID | str) -> str:
    return f"tracker:user:{user_id}"


def torrent_key(torrent_id: uuid.UUID | str) -> str:
    return f"tracker:torrent:{torrent_id}"


def info_hash_key(info_hash: bytes) -> str:
    return f"tracker:infohash:{info_hash.hex()}"


def invalidate_user(user_id: uuid.UUID | str, *, passkeys: tuple[str, ...] = ()) -> None:
    """Forget what the tracker knows of a member (and of their old passkeys)."""
    keys = [user_key(user_id), *(passkey_key(p) for p in passkeys)]
    transaction.on_commit(lambda: cache.delete_many(keys))


def invalidate_torrent(torrent_id: uuid.UUID | str, *, info_hashes: tuple[bytes, ...] = ()
                       ) -> None:
    """Forget what the tracker knows of a torrent (status, freeleech, hashes)."""
    keys = [torrent_key(torrent_id), *(info_hash_key(h) for h in info_hashes)]
    transaction.on_commit(lambda: cache.delete_many(keys))
