"""The tracker's HTTP face: a plain ASGI app for /announce/<passkey> and /scrape/<passkey>.

No Django request machinery: DESIGN.md measured a bare ASGI app at about 13x a Django view
on this kind of machine, and the announce path needs none of the middleware. Every reply is
HTTP 200 with a bencoded body, failures included (libtorrent drops the body of a non-200
reply, and the member would never see why).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Coroutine
from typing import Any

from asgiref.sync import sync_to_async

from announce.bencode import bencode, failure
from announce.limits import unknown_passkey_check, unknown_passkey_note
from announce.parse import Malformed, client_ip, ip_allowed, parse_announce, parse_scrape
from domain.errors import DomainError
from domain.metrics import (
    ANNOUNCES,
    CACHE_FILL_SECONDS,
    CACHE_LOOKUPS,
    LATENCY,
    metrics_exposition,
)
from domain.tracker import store
from domain.tracker.announcing import (
    AnnounceResult,
    TrackerRefusal,
    tracker_announce_async,
    tracker_scrape_async,
    unknown_passkey,
)
from domain.tracker.cache import (
    CacheMiss,
    Lookup,
    lookup_async,
    lookup_filled_async,
    warm_keeper_start,
)
from domain.tracker.conf import setting
from domain.tracker.live import peers_counts_send, peers_counts_send_trailing

log = logging.getLogger(__name__)

HEADERS = [(b"content-type", b"text/plain"), (b"cache-control", b"no-store")]
# The common children, bound once: .labels() costs a lock and a dict lookup per call.
_ANNOUNCE_OK = ANNOUNCES.labels("announce", "ok", "")
_SCRAPE_OK = ANNOUNCES.labels("scrape", "ok", "")
_ANNOUNCE_SECONDS = LATENCY.labels("announce")
_CACHE_HIT = CACHE_LOOKUPS.labels("hit")
_CACHE_MISS = CACHE_LOOKUPS.labels("miss")
UNAVAILABLE = ("The tracker is briefly unavailable; your client will retry at its next "
               "announce.")
_background: set[asyncio.Task[None]] = set()


def _is_passkey(value: str) -> bool:
    return len(value) == 32 and not value.strip("0123456789abcdef")


async def _lookup(passkey: str, info_hashes: list[bytes], ip: str) -> Lookup:
    warm_keeper_start()
    try:
        found = await lookup_async(passkey=passkey, info_hashes=info_hashes, ip=ip)
        _CACHE_HIT.inc()
        return found
    except CacheMiss as miss:
        _CACHE_MISS.inc()
        passkey_missed = miss.args[0] == store.passkey_key(passkey)
        if passkey_missed:
            verdict = await unknown_passkey_check(ip, passkey)
            if verdict == "unknown":
                raise unknown_passkey() from None
            if verdict == "exhausted":
                raise TrackerRefusal(
                    "Too many unknown passkeys from your address: the tracker will not look "
                    "up new ones for a while. Download your .torrent files again from the "
                    "site (they carry your current passkey).", code="passkey_limit"
                ) from None
        # Misses are filled in batches with the other announces' of the moment, on the
        # tracker's own fill threads (domain/tracker/cache.py).
        fill_started = time.perf_counter()
        found = await lookup_filled_async(passkey=passkey, info_hashes=info_hashes, ip=ip)
        CACHE_FILL_SECONDS.observe(time.perf_counter() - fill_started)
        if passkey_missed and found.member is None:
            await unknown_passkey_note(ip, passkey)
        return found


def _announce_reply(result: AnnounceResult, *, compact: bool, no_peer_id: bool) -> bytes:
    if compact:
        # The common reply, written out directly (keys in BEP 3 order): the generic
        # encoder costs several times as much and every announce pays it.
        # 26 bytes: IPv4, 38: IPv6, 64: both (IPv4 first), so p[-38:-20] is the IPv6 one.
        v4 = b"".join([p[:6] for p in result.peers if len(p) != 38])
        v6 = b"".join([p[-38:-20] for p in result.peers if len(p) != 26])
        return b"".join((
            b"d8:completei%de10:downloadedi%de10:incompletei%de8:intervali%de"
            b"12:min intervali%de5:peers%d:" % (result.complete, result.downloaded,
                                              result.incomplete, result.interval,
                                              result.min_interval, len(v4)),
            v4, b"6:peers6%d:%se" % (len(v6), v6) if v6 else b"e"))
    import ipaddress

    peers = []
    for blob in result.peers:
        for p in (blob[:26], blob[26:]) if len(blob) == 64 else (blob,):
            n = len(p) - 22
            entry: dict[str, Any] = {"ip": str(ipaddress.ip_address(p[:n])),
                                     "port": int.from_bytes(p[n:n + 2], "big")}
            if not no_peer_id:
                entry["peer id"] = p[n + 2:]
            peers.append(entry)
    return bencode({
        "interval": result.interval, "min interval": result.min_interval,
        "complete": result.complete, "incomplete": result.incomplete,
        "downloaded": result.downloaded, "peers": peers})


def _in_background(job: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(job)
    _background.add(task)  # held until done: the loop keeps only weak references
    task.add_done_callback(_background.discard)


def _user_agent(raw: bytes) -> str:
    user_agent = raw.decode("latin-1")
    if not user_agent.isprintable():
        # Control characters (a NUL above all) are text PostgreSQL refuses at the flush.
        user_agent = "".join(c if c.isprintable() else "?" for c in user_agent)
    return user_agent


async def handle_announce(query: bytes, passkey: str, peer: str | None,
                          headers: dict[bytes, bytes]) -> bytes:
    ip = client_ip(peer, headers.get(b"x-forwarded-for"))
    request = parse_announce(query, ip=ip, user_agent=_user_agent(headers.get(b"user-agent",
                                                                              b"")))
    if not _is_passkey(passkey):
        raise unknown_passkey()
    found = await _lookup(passkey, [request.info_hash], ip)
    result = await tracker_announce_async(passkey=passkey, request=request, found=found,
                                          now=time.time())
    if result.publish:
        _in_background(peers_counts_send(
            torrent_id=result.torrent_id, seeders=result.complete,
            leechers=result.incomplete, snatches=result.downloaded))
    elif result.trail_ms:
        _in_background(peers_counts_send_trailing(
            torrent_id=result.torrent_id, delay_ms=result.trail_ms,
            window=result.trail_window))
    return _announce_reply(result, compact=request.compact, no_peer_id=request.no_peer_id)


async def handle_scrape(query: bytes, passkey: str, peer: str | None,
                        headers: dict[bytes, bytes]) -> bytes:
    ip = client_ip(peer, headers.get(b"x-forwarded-for"))
    hashes = parse_scrape(query)
    if not _is_passkey(passkey):
        raise unknown_passkey()
    found = await _lookup(passkey, hashes, ip)
    counts = await tracker_scrape_async(found=found, now=time.time())
    return bencode({"files": {
        h: {"complete": c[0], "incomplete": c[1], "downloaded": c[2]}
        for h, c in counts.items()}})


def _route(path: str) -> tuple[str, str] | None:
    for kind in ("announce", "scrape"):
        head = f"/{kind}/"
        if path.startswith(head):
            return kind, path[len(head):].rstrip("/")
    return None


def _metrics_allowed(peer: str | None, headers: dict[bytes, bytes]) -> bool:
    """/metrics is for the operator's Prometheus: a bearer token (METRICS_TOKEN) or a
    request from METRICS_ALLOWED_IPS. A request that came through a proxy counts by the
    address the proxy vouches for (TRUSTED_PROXIES); one carrying forwarding headers from
    an untrusted hop is not taken for the loopback it arrives from."""
    token = str(setting("METRICS_TOKEN") or "")
    given = headers.get(b"authorization", b"")
    if token and hmac.compare_digest(given, f"Bearer {token}".encode()):
        return True
    if not peer:
        return False
    forwarded = headers.get(b"x-forwarded-for")
    try:
        ip = client_ip(peer, forwarded)
    except Malformed:
        return False
    if (forwarded or b"forwarded" in headers or b"x-real-ip" in headers) and \
            ip == client_ip(peer, None):
        return False  # forwarded by a hop we do not trust: whose request is it?
    return ip_allowed(ip, tuple(setting("METRICS_ALLOWED_IPS")))


async def metrics_reply(peer: str | None, headers: dict[bytes, bytes]
                        ) -> tuple[int, bytes, bytes]:
    """/metrics: (status, content type, body)."""
    if not _metrics_allowed(peer, headers):
        return 403, b"text/plain", (b"Forbidden: /metrics needs METRICS_TOKEN or an address "
                                    b"in METRICS_ALLOWED_IPS.\n")
    text, content_type = await sync_to_async(metrics_exposition)()
    return 200, content_type.encode(), text


async def tracker_reply(path: str, query: bytes, peer: str | None,
                        headers: dict[bytes, bytes]) -> bytes:
    """The bencoded body for any path but /metrics (always sent with status 200): what
    both fronts call, the ASGI app below and the tracker's own server (announce/server.py).
    `peer`: the connection's address; `headers`: lower-case names, the last of each."""
    started = time.perf_counter()
    route = _route(path)
    kind = route[0] if route else "other"
    try:
        if route is None:
            body = failure("Malformed request: the URL must be /announce/<passkey> or "
                           "/scrape/<passkey>; download the .torrent again from the site.")
            ANNOUNCES.labels(kind, "refused", "path").inc()
        elif kind == "announce":
            body = await handle_announce(query, route[1], peer, headers)
            _ANNOUNCE_OK.inc()
        else:
            body = await handle_scrape(query, route[1], peer, headers)
            _SCRAPE_OK.inc()
    except (DomainError, Malformed) as exc:
        body = failure(exc.message)
        reason = f"malformed:{exc.field}" if exc.code == "malformed" else exc.code
        ANNOUNCES.labels(kind, "refused", reason).inc()
    except Exception:
        log.exception("announce failed: %s", path)
        body = failure(UNAVAILABLE)
        ANNOUNCES.labels(kind, "error", "").inc()
    (_ANNOUNCE_SECONDS if kind == "announce" else LATENCY.labels(kind)).observe(
        time.perf_counter() - started)
    return body


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                warm_keeper_start()  # Redis loaded in bulk from PostgreSQL, in the background
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    headers = dict(scope.get("headers") or ())
    client = scope.get("client")
    peer = client[0] if client else None
    if scope["path"] == "/metrics":
        status, kind, body = await metrics_reply(peer, headers)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", kind), (b"cache-control", b"no-store"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        return
    body = await tracker_reply(scope["path"], scope.get("query_string", b""), peer, headers)
    await send({"type": "http.response.start", "status": 200,
                "headers": [*HEADERS, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
