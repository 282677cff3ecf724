"""The announce and scrape services: refusal rules, accounting factors, the swarm call.

These run on the hot path and touch no ORM: `lookup` (cache.py) has already resolved the
member, torrents, IP ban and client rules. Refusals raise TrackerRefusal with a message a
member can act on; the announce app turns it into a bencoded `failure reason`.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from functools import lru_cache
from json.encoder import encode_basestring_ascii as _json_str
from typing import Any

from domain.errors import DomainError
from domain.tracker.cache import Lookup, MemberRecord, TorrentRecord
from domain.tracker.clients import client_name
from domain.tracker.conf import setting
from domain.tracker.swarm import (
    SwarmAnswer,
    swarm_announce,
    swarm_announce_async,
    swarm_counts,
    swarm_counts_async,
)


class TrackerRefusal(DomainError):
    code = "tracker_refusal"
    http_status = 200


EVENTS = ("", "started", "completed", "stopped", "paused")


@dataclass(frozen=True, slots=True)
class AnnounceRequest:
    info_hash: bytes
    peer_id: bytes
    ip: str
    port: int
    uploaded: int
    downloaded: int
    left: int
    event: str = ""
    numwant: int = 50
    key: str = ""
    user_agent: str = ""
    compact: bool = True  # BEP 23 peers; False: a list of dictionaries
    no_peer_id: bool = False  # leave "peer id" out of those dictionaries
    # A dual-stack client's address of the other family (BEP 7 ipv4=/ipv6=), or "".
    other_ip: str = ""


@dataclass(frozen=True, slots=True)
class AnnounceResult:
    torrent_id: str
    interval: int
    min_interval: int
    complete: int
    incomplete: int
    downloaded: int
    # Compact address (6 or 18 bytes) + 20-byte peer_id each; a dual-stack peer's is both
    # (IPv4 one first, 26 + 38 bytes).
    peers: tuple[bytes, ...]
    publish: bool
    # A throttled change of the counts: publish them when the window ends (live.py).
    trail_ms: int = 0
    trail_window: str = ""


@lru_cache(maxsize=4096)
def _client(prefix: bytes) -> str:
    """The client's name and version, as a JSON string."""
    return _json_str(client_name(prefix + b"\0" * (20 - len(prefix))))


@lru_cache(maxsize=65536)
def _packed_ip(ip: str) -> bytes:
    return ipaddress.ip_address(ip).packed


def _address(request: AnnounceRequest) -> bytes:
    """What other peers are given: compact address, port, peer_id; both addresses of a
    dual-stack peer, the IPv4 one first (readers split 64 bytes as 26 + 38)."""
    port_pid = request.port.to_bytes(2, "big") + request.peer_id
    own = _packed_ip(request.ip) + port_pid
    if not request.other_ip:
        return own
    other = _packed_ip(request.other_ip) + port_pid
    return own + other if len(own) == 26 else other + own


def unknown_passkey() -> TrackerRefusal:
    return TrackerRefusal(
        "Unknown passkey: this torrent's announce URL is not (or no longer) valid. Download "
        "the .torrent again from the site to get your current passkey.", code="passkey")


def _plan(request: AnnounceRequest, found: Lookup, now: float
          ) -> tuple[MemberRecord, TorrentRecord, dict[str, Any]]:
    """Every refusal decided from the cached records, and the swarm call to make."""
    member = found.member
    if member is None:
        raise unknown_passkey()
    if member.refusal:
        raise TrackerRefusal(member.refusal, code="account")
    if found.ip_ban:
        raise TrackerRefusal(found.ip_ban, code="ip_ban")
    refusal = found.rules.refusal(request.peer_id)
    if refusal:
        raise TrackerRefusal(refusal, code="client")
    torrent = found.torrents.get(request.info_hash)
    if torrent is None:
        raise TrackerRefusal(
            "Unregistered torrent: this site does not track it. Check that you downloaded "
            "the .torrent from this site.", code="torrent")
    if torrent.refusal:
        raise TrackerRefusal(torrent.refusal, code="torrent")
    if request.left > 0 and member.leech_refusal and request.event != "stopped":
        raise TrackerRefusal(member.leech_refusal, code="download")

    token_id = ""
    if torrent.neutral:
        up_factor, down_factor = 0.0, 0.0
    else:
        up_factor = 2.0 if torrent.double_upload else 1.0
        down_factor = 1.0
        if found.global_freeleech or torrent.is_freeleech(now):
            down_factor = 0.0
        elif member.has_token(torrent.id, now):
            # Free only within the token's byte allowance, which the swarm script spends;
            # a record cached before token ids were kept frees it all.
            token_id = member.token_ids.get(torrent.id, "")
            if not token_id:
                down_factor = 0.0

    peer_hex = request.peer_id.hex()
    ident = f"{member.id}:{peer_hex}:{request.key}"
    # v1 hashes and truncated v2 hashes differ; "which hash" only matters to the
    # min-interval rule (a hybrid's client announces both at once).
    hash_tag = "1" if torrent.info_hashes and request.info_hash.hex() == torrent.info_hashes[0] \
        else "2"
    # The buffer entry's head, as json.dumps would write it (the script appends the
    # figures): uuids, hex and integers need no escaping; every text is escaped.
    entry_prefix = (
        f'{{"t": "{torrent.id}", "u": "{member.id}", "pid": "{peer_hex}", '
        f'"k": {_json_str(request.key)}, "ip": {_json_str(request.ip)}, '
        f'"port": {request.port}, '
        f'"nw": {request.numwant}, "cl": {_client(request.peer_id[:8])}, '
        f'"ua": {_json_str(request.user_agent[:255])},'
        + (f' "tk": "{token_id}",' if token_id else ""))
    return member, torrent, dict(
        torrent_id=torrent.id, user_id=member.id, ident=ident, now=now,
        event=request.event, uploaded=request.uploaded, downloaded=request.downloaded,
        left=request.left, max_peers=member.max_peers, up_factor=up_factor,
        down_factor=down_factor,
        address=_address(request),
        numwant=request.numwant, entry_prefix=entry_prefix, hash_tag=hash_tag,
        token_id=token_id, size=torrent.size)


def _result(member: MemberRecord, torrent: TorrentRecord, answer: SwarmAnswer
            ) -> AnnounceResult:
    if answer.refusal == "min":
        raise TrackerRefusal(
            f"Announcing too fast: wait {answer.refusal_value} more seconds (minimum "
            f"interval {setting('TRACKER_MIN_INTERVAL')} s).", code="min_interval")
    if answer.refusal == "peers":
        raise TrackerRefusal(
            f"Too many peers: you already have {answer.refusal_value} clients on this "
            f"torrent (your limit is {member.max_peers}). Stop one of them first.",
            code="peer_limit")
    interval = int(setting("TRACKER_ANNOUNCE_INTERVAL"))
    jitter = int(setting("TRACKER_INTERVAL_JITTER"))
    return AnnounceResult(
        torrent_id=torrent.id,
        interval=interval + (random.randint(0, jitter) if jitter > 0 else 0),
        min_interval=int(setting("TRACKER_MIN_INTERVAL")), complete=answer.complete,
        incomplete=answer.incomplete, downloaded=answer.downloaded, peers=answer.peers,
        publish=answer.publish, trail_ms=answer.trail_ms, trail_window=answer.trail_window)


def tracker_announce(*, passkey: str, request: AnnounceRequest, found: Lookup,
                     now: float) -> AnnounceResult:
    """Check an announce against every rule, update the swarm and buffer its accounting."""
    member, torrent, command = _plan(request, found, now)
    return _result(member, torrent, swarm_announce(**command))


async def tracker_announce_async(*, passkey: str, request: AnnounceRequest, found: Lookup,
                                 now: float) -> AnnounceResult:
    """`tracker_announce` for the announce app (Redis through the loop's pipeline)."""
    member, torrent, command = _plan(request, found, now)
    return _result(member, torrent, await swarm_announce_async(**command))


def _scrape_known(found: Lookup) -> list[tuple[bytes, TorrentRecord]]:
    member = found.member
    if member is None:
        raise unknown_passkey()
    if member.refusal:
        raise TrackerRefusal(member.refusal, code="account")
    if found.ip_ban:
        raise TrackerRefusal(found.ip_ban, code="ip_ban")
    return [(h, t) for h, t in found.torrents.items() if t is not None and not t.refusal]


def tracker_scrape(*, found: Lookup, now: float) -> dict[bytes, tuple[int, int, int]]:
    """(complete, incomplete, downloaded) per requested hash the member may see; unknown,
    pending or rejected torrents are left out, as BEP 48 allows."""
    known = _scrape_known(found)
    counts = swarm_counts([t.id for _, t in known], now=now)
    return {h: c for (h, _), c in zip(known, counts, strict=True)}


async def tracker_scrape_async(*, found: Lookup, now: float
                               ) -> dict[bytes, tuple[int, int, int]]:
    known = _scrape_known(found)
    counts = await swarm_counts_async([t.id for _, t in known], now=now)
    return {h: c for (h, _), c in zip(known, counts, strict=True)}
