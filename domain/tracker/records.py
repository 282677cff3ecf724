"""What the tracker's lookup cache holds: one record per passkey, info_hash and address,
and how each is written to Redis and read back (JSON: the loaders, the cache and the
benchmark all write the same bytes).

A module of its own so the database loaders (loaders.py) and the cache (cache.py) can both
use the records without importing each other.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from domain.tracker.clients import ClientRules


@dataclass(frozen=True, slots=True)
class MemberRecord:
    id: str
    # Why this member may not announce at all (status, account ban), or "".
    refusal: str = ""
    # Why this member may not leech (download ban, group without Perm.DOWNLOAD), or "".
    leech_refusal: str = ""
    max_peers: int = 3
    # torrent id -> expiry (unix seconds; inf when none) of an active freeleech token.
    tokens: dict[str, float] = field(default_factory=dict)
    # torrent id -> that token's id: its byte allowance is kept in Redis (store.token_key).
    token_ids: dict[str, str] = field(default_factory=dict)
    # When a ban in this record runs out (unix seconds): the record is stale from then on,
    # since nothing invalidates a ban that simply expires.
    valid_until: float = math.inf

    def has_token(self, torrent_id: str, now: float) -> bool:
        until = self.tokens.get(torrent_id)
        return until is not None and now < until


@dataclass(frozen=True, slots=True)
class TorrentRecord:
    id: str
    refusal: str = ""
    size: int = 0
    freeleech_until: float = 0.0  # unix seconds; inf: no end; 0: not freeleech
    neutral: bool = False
    double_upload: bool = False
    info_hashes: tuple[str, ...] = ()

    def is_freeleech(self, now: float) -> bool:
        return now < self.freeleech_until


@dataclass(frozen=True, slots=True)
class IpBanRecord:
    """What the cache knows of an address: the refusal ("" when not banned) and, like
    MemberRecord.valid_until, when the ban runs out (nothing invalidates a ban that simply
    expires, so the record is stale from then on)."""

    reason: str = ""
    valid_until: float = math.inf


NOT_BANNED = IpBanRecord()


@dataclass(frozen=True, slots=True)
class Lookup:
    """Everything an announce needs to know before it touches the swarm."""

    member: MemberRecord | None
    torrents: dict[bytes, TorrentRecord | None]
    ip_ban: str  # the ban's reason, or "" when the address is not banned
    rules: ClientRules
    global_freeleech: bool


def encode(record: object | None) -> bytes:
    if record is None:
        return b"null"
    data = {f: getattr(record, f) for f in record.__slots__}  # type: ignore[attr-defined]
    return json.dumps(data, default=_json_default).encode()


def _json_default(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(type(value))


def decode_member(raw: bytes) -> MemberRecord | None:
    data = json.loads(raw)
    if data is None:
        return None
    data["tokens"] = {k: float(v) for k, v in data["tokens"].items()}
    return MemberRecord(**data)


def decode_ip_ban(raw: bytes) -> IpBanRecord:
    # b"" is "not banned" (the common answer, kept short); a ban is its JSON record. A
    # plain reason is what an older version stored: a ban with no known end.
    if not raw:
        return NOT_BANNED
    if raw[:1] != b"{":
        return IpBanRecord(reason=raw.decode())
    data = json.loads(raw)
    return IpBanRecord(reason=data["reason"], valid_until=float(data["valid_until"]))


def decode_torrent(raw: bytes) -> TorrentRecord | None:
    data = json.loads(raw)
    if data is None:
        return None
    data["freeleech_until"] = float(data["freeleech_until"])
    data["info_hashes"] = tuple(data["info_hashes"])
    return TorrentRecord(**data)


def decode_rules(raw: bytes) -> ClientRules:
    data = json.loads(raw)
    return ClientRules(
        allow=tuple((bytes.fromhex(p), n) for p, n in data["allow"]),
        deny=tuple((bytes.fromhex(p), n, r) for p, n, r in data["deny"]))
