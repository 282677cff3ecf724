"""Announce and scrape requests from the raw query string.

Parsed as bytes with percent-decoding to bytes: info_hash and peer_id are binary, and a
text decoding (Django's QueryDict) corrupts them. Every problem raises Malformed naming the
parameter and what is wrong with it.
"""

from __future__ import annotations

import codecs
import ipaddress
from functools import lru_cache
from urllib.parse import unquote_to_bytes

from domain.errors import ValidationFailed
from domain.tracker.announcing import EVENTS, AnnounceRequest
from domain.tracker.conf import setting

_escape_decode = codecs.escape_decode  # type: ignore[attr-defined]
MAX_INT = 2**53  # counters beyond this are not a real client's (and not exact in Lua)
_MAX_DIGITS = len(str(MAX_INT))  # checked before int(): Python refuses 4,300+ digits
MAX_KEY_BYTES = 64
_PRINTABLE = frozenset(range(33, 127))


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


def query_params(raw: bytes) -> dict[bytes, list[bytes]]:
    """Every value of every parameter, percent-decoded, in order (scrape repeats
    info_hash)."""
    params: dict[bytes, list[bytes]] = {}
    for part in raw.split(b"&"):
        if part:
            name, _, value = part.partition(b"=")
            params.setdefault(unquote(name) if b"%" in name else name, []).append(
                unquote(value) if b"%" in value else value)
    return params


def query_last(raw: bytes) -> dict[bytes, bytes]:
    """The last value of each parameter, percent-decoded (an announce names each once).
    A loop of its own rather than dict() of a generator: every announce runs it over a
    dozen parameters."""
    params: dict[bytes, bytes] = {}
    for part in raw.split(b"&"):
        if part:
            name, _, value = part.partition(b"=")
            params[unquote(name) if b"%" in name else name] = (
                unquote(value) if b"%" in value else value)
    return params


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
    if len(raw) > _MAX_DIGITS:
        raw = raw.lstrip(b"0") or b"0"
        if len(raw) > _MAX_DIGITS:
            raise Malformed(name, f"must be between {low} and {high}")
    value = int(raw)
    if not low <= value <= high:
        raise Malformed(name, f"must be between {low} and {high}")
    return value


def _flag(params: dict[bytes, bytes], name: bytes, default: bool) -> bool:
    value = params.get(name)
    return default if value is None else value not in (b"0", b"")


def _key(raw: bytes) -> str:
    """The client's `key` as text: as sent when printable, else its bytes in hex (aria2
    sends random bytes, percent-encoded). Never text PostgreSQL would refuse (a NUL)."""
    if len(raw) > MAX_KEY_BYTES:
        raise Malformed("key", f"must be at most {MAX_KEY_BYTES} bytes (got {len(raw)})")
    if _PRINTABLE.issuperset(raw):
        return raw.decode("ascii")
    return "0x" + raw.hex()


@lru_cache(maxsize=4096)
def _address(value: bytes) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address a client names for itself (BEP 7 `ipv4`/`ipv6`, BEP 3 `ip`): a literal,
    optionally with a port (`[2001:db8::1]:6881`, `192.0.2.1:6881`; the port is the
    announce's). None for anything else: a DNS name, garbage, a multicast or unspecified
    address. An optional hint never fails the announce."""
    try:
        text = value.decode("ascii").strip()
        if text.startswith("["):
            text, bracket, _ = text[1:].partition("]")
            if not bracket:
                return None
        elif text.count(":") == 1:
            text = text.partition(":")[0]
        addr = ipaddress.ip_address(text.partition("%")[0])
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr.is_multicast or addr.is_unspecified:
        return None
    return addr


def other_address(params: dict[bytes, bytes], ip: str) -> str:
    """The client's address of the other family than the connection's (BEP 7: a dual-stack
    client announces over one and names the other), or "". An address of the connection's
    own family is not taken: the connection's is the one seen, and a member must not make
    the tracker hand out someone else's."""
    v6 = ":" in ip
    for name in (b"ipv6", b"ipv4", b"ip") if not v6 else (b"ipv4", b"ipv6", b"ip"):
        value = params.get(name)
        if value:
            addr = _address(value)
            if addr is not None and (addr.version == 6) != v6:
                return str(addr)
    return ""


def parse_announce(raw_query: bytes, *, ip: str, user_agent: str) -> AnnounceRequest:
    limit = int(setting("TRACKER_QUERY_MAX_BYTES"))
    if len(raw_query) > limit:
        raise Malformed("query string", f"is {len(raw_query)} bytes (at most {limit})")
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
    numwant_max = int(setting("TRACKER_NUMWANT_MAX"))
    numwant_raw = params.get(b"numwant")
    if numwant_raw and numwant_raw.isdigit() and len(numwant_raw) > 7:
        numwant = numwant_max  # "as many as you have", however many digits it takes
    else:
        numwant = min(_int(params, "numwant", required=False,
                           default=int(setting("TRACKER_NUMWANT_DEFAULT")), high=10**7),
                      numwant_max)
    key_raw = params.get(b"key")
    other = (other_address(params, ip)
             if b"ipv6" in params or b"ipv4" in params or b"ip" in params else "")
    return AnnounceRequest(info_hash=info_hash, peer_id=peer_id, ip=ip, port=port,
                           uploaded=uploaded, downloaded=downloaded, left=left, event=event,
                           numwant=numwant, key=_key(key_raw) if key_raw else "",
                           user_agent=user_agent, compact=_flag(params, b"compact", True),
                           no_peer_id=_flag(params, b"no_peer_id", False), other_ip=other)


def parse_scrape(raw_query: bytes) -> list[bytes]:
    limit = int(setting("TRACKER_QUERY_MAX_BYTES"))
    if len(raw_query) > limit:
        raise Malformed("query string", f"is {len(raw_query)} bytes (at most {limit})")
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


def ip_allowed(ip: str, networks: tuple[str, ...]) -> bool:
    """Whether an address lies in any of these addresses or CIDR ranges."""
    addr = ipaddress.ip_address(ip)
    return any(addr in n for n in _trusted(networks))


def client_ip(peer: str | None, forwarded_for: bytes | None) -> str:
    """The connection's address; X-Forwarded-For only when the connection comes from a
    trusted proxy (settings.TRUSTED_PROXIES), taking the nearest untrusted hop."""
    if not peer:
        raise Malformed("address", "is unknown (no client address on the connection)")
    ip = _normal(peer)
    if not forwarded_for:
        return ip
    proxies = tuple(setting("TRUSTED_PROXIES"))
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
