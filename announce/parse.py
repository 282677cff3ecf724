"""Announce and scrape requests from the raw query string.

Parsed as bytes with percent-decoding to bytes: info_hash and peer_id are binary, and a
text decoding (Django's QueryDict) corrupts them. Every problem raises Malformed naming the
parameter and what is wrong with it.
"""

from __future__ import annotations

import codecs
import ipaddress
from collections.abc import Iterator
from functools import lru_cache
from urllib.parse import unquote_to_bytes

from domain.errors import ValidationFailed
from domain.tracker.announcing import EVENTS, AnnounceRequest
from domain.tracker.conf import setting

_escape_decode = codecs.escape_decode  # type: ignore[attr-defined]
MAX_INT = 2**53  # counters beyond this are not a real client's (and not exact in Lua)


class Malformed(ValidationFailed):
    def __init__(self, field: str, why: str):
        super().__init__(f"Malformed request: {field} {why}.", code="malformed", field=field)


def unquote(value: bytes) -> bytes:
    """Percent-decoding to bytes, exactly as urllib's unquote_to_bytes (a "%" not followed
    by two hex digits stays as it is; "+" stays "+"), in C: every "%" becomes "\\x" for the
    codec that reads Python's escapes, at a fifth of the cost (an info_hash is mostly
    escapes and every announce carries two). Values holding a backslash, or an escape that
    is not one, take urllib's path."""
    if b"\\" not in value:
        try:
            return _escape_decode(value.replace(b"%", b"\\x"))[0]
        except ValueError:
            pass
    return unquote_to_bytes(value)


def _pairs(raw: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(name, value) of each parameter, percent-decoded, in order."""
    for part in raw.split(b"&"):
        if part:
            name, _, value = part.partition(b"=")
            yield (unquote(name) if b"%" in name else name,
                   unquote(value) if b"%" in value else value)


def query_params(raw: bytes) -> dict[bytes, list[bytes]]:
    """Every value of every parameter, in order (scrape repeats info_hash)."""
    params: dict[bytes, list[bytes]] = {}
    for name, value in _pairs(raw):
        params.setdefault(name, []).append(value)
    return params


def query_last(raw: bytes) -> dict[bytes, bytes]:
    """The last value of each parameter (an announce names each once)."""
    return dict(_pairs(raw))


def _required(params: dict[bytes, bytes], name: str) -> bytes:
    value = params.get(name.encode())
    if value is None:
        raise Malformed(name, "is missing")
    return value


def _hash20(value: bytes, name: str) -> bytes:
    if len(value) != 20:
        raise Malformed(name, f"must be 20 bytes (got {len(value)})")
    return value


def _int(params: dict[bytes, bytes], name: str, *, required: bool = True,
         default: int = 0, low: int = 0, high: int = MAX_INT) -> int:
    raw = _required(params, name) if required else params.get(name.encode())
    if raw is None or (not required and raw == b""):
        return default
    if not raw.isdigit():
        raise Malformed(name, "must be a whole number")
    value = int(raw)
    if not low <= value <= high:
        raise Malformed(name, f"must be between {low} and {high}")
    return value


def _flag(params: dict[bytes, bytes], name: bytes, default: bool) -> bool:
    value = params.get(name)
    return default if value is None else value not in (b"0", b"")


def parse_announce(raw_query: bytes, *, ip: str, user_agent: str) -> AnnounceRequest:
    params = query_last(raw_query)
    info_hash = _hash20(_required(params, "info_hash"), "info_hash")
    peer_id = _hash20(_required(params, "peer_id"), "peer_id")
    port = _int(params, "port", low=1, high=65535)
    uploaded = _int(params, "uploaded")
    downloaded = _int(params, "downloaded")
    left = _int(params, "left")
    event_raw = params.get(b"event") or b""
    event = event_raw.decode("latin-1")
    if event == "empty":
        event = ""
    if event not in EVENTS:
        raise Malformed("event", "must be started, completed, stopped, paused or empty")
    numwant = min(_int(params, "numwant", required=False,
                       default=int(setting("TRACKER_NUMWANT_DEFAULT")), high=10**6),
                  int(setting("TRACKER_NUMWANT_MAX")))
    key_raw = params.get(b"key") or b""
    if len(key_raw) > 64 or not all(33 <= b < 127 for b in key_raw):
        raise Malformed("key", "must be at most 64 printable characters")
    return AnnounceRequest(info_hash=info_hash, peer_id=peer_id, ip=ip, port=port,
                           uploaded=uploaded, downloaded=downloaded, left=left, event=event,
                           numwant=numwant, key=key_raw.decode("ascii"),
                           user_agent=user_agent, compact=_flag(params, b"compact", True),
                           no_peer_id=_flag(params, b"no_peer_id", False))


def parse_scrape(raw_query: bytes) -> list[bytes]:
    hashes = query_params(raw_query).get(b"info_hash", [])
    if not hashes:
        raise Malformed("info_hash", "is missing (scrape one or more torrents by hash)")
    limit = int(setting("TRACKER_SCRAPE_MAX"))
    if len(hashes) > limit:
        raise Malformed("info_hash", f"is given {len(hashes)} times (at most {limit})")
    return list(dict.fromkeys(_hash20(h, "info_hash") for h in hashes))


@lru_cache(maxsize=1)
def _trusted(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network,
                                                  ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


@lru_cache(maxsize=65536)
def _normal(ip: str) -> str:
    # An IPv6 zone id ("fe80::1%eth0") names a local interface, means nothing to other
    # peers, and would carry any text a forged X-Forwarded-For puts after the "%".
    addr = ipaddress.ip_address(ip.partition("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def client_ip(peer: str | None, forwarded_for: bytes | None) -> str:
    """The connection's address; X-Forwarded-For only when the connection comes from a
    trusted proxy (TRACKER_TRUSTED_PROXIES), taking the nearest untrusted hop."""
    if not peer:
        raise Malformed("address", "is unknown (no client address on the connection)")
    ip = _normal(peer)
    if not forwarded_for:
        return ip
    proxies = tuple(setting("TRACKER_TRUSTED_PROXIES"))
    if not proxies:
        return ip
    nets = _trusted(proxies)

    def trusted(a: str) -> bool:
        addr = ipaddress.ip_address(a)
        return any(addr in n for n in nets)

    if not trusted(ip):
        return ip
    for hop in reversed(forwarded_for.decode("latin-1").split(",")):
        try:
            candidate = _normal(hop.strip())
        except ValueError:
            raise Malformed("X-Forwarded-For", "holds an address that is not valid") from None
        if not trusted(candidate):
            return candidate
        ip = candidate
    return ip
