"""The tracker's own HTTP server (announce/server.py): what it answers is what the ASGI app
under uvicorn answers, byte for byte in the body, over real sockets; and the HTTP it
speaks (keep-alive, pipelining, HTTP/1.0, malformed and oversized requests, idle
connections)."""

from __future__ import annotations

import socket
import time

import pytest

from announce.server import MAX_HEAD_BYTES
from tests.announce.factories import bdecode, peer_id, query
from tests.announce.swarm import own_server_front, uvicorn_front
from tests.factories import make_torrent

pytestmark = pytest.mark.django_db(transaction=True)


def exchange(port: int, raw: bytes, *, timeout: float = 10.0) -> bytes:
    """Send raw bytes, read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        chunks: list[bytes] = []
        while True:
            data = s.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def get(port: int, target: str, *headers: str) -> tuple[str, dict[str, str], bytes]:
    head = "".join(f"{h}\r\n" for h in headers)
    reply = exchange(port, f"GET {target} HTTP/1.1\r\nHost: x\r\n{head}"
                           "Connection: close\r\n\r\n".encode())
    top, _, body = reply.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    fields = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return lines[0], fields, body


def replies(raw: bytes) -> list[bytes]:
    """The bodies of consecutive HTTP replies (each with Content-Length)."""
    out = []
    while raw:
        top, _, rest = raw.partition(b"\r\n\r\n")
        length = next(int(x.split(b":")[1]) for x in top.split(b"\r\n")
                      if x.lower().startswith(b"content-length:"))
        out.append(rest[:length])
        raw = rest[length:]
    return out


def test_both_fronts_answer_the_same(member, settings):
    """The same requests, in the same order, each against a fresh swarm: the own server's
    bodies are the ASGI app's under uvicorn (the swarm's ids and counts are per prefix)."""
    settings.TRACKER_MIN_INTERVAL = 0
    torrent = make_torrent()
    ih = bytes(torrent.info_hash_v1)
    pids = [peer_id(), peer_id(b"-TR4050-")]
    qs = [query(info_hash=ih, peer_id=pids[0], port=6881, uploaded=0, downloaded=0,
                left=0, event="started", compact=1),
          query(info_hash=ih, peer_id=pids[1], port=6882, uploaded=0, downloaded=0,
                left=10, compact=1, no_peer_id=1),
          query(info_hash=ih, peer_id=pids[1], port=6882, uploaded=0, downloaded=0,
                left=10, compact=0)]
    targets = [f"/announce/{member.passkey}?{q.decode()}" for q in qs] + [
        f"/scrape/{member.passkey}?{query(info_hash=ih).decode()}",
        f"/announce/{member.passkey}?info_hash=short",  # malformed
        f"/announce/{'0' * 32}?{qs[0].decode()}",  # unknown passkey
        f"/announce%2F{member.passkey}?{qs[0].decode()}",  # an encoded slash: no route
        "/elsewhere",
        "/metrics",  # refused: the tests' client is not in METRICS_ALLOWED_IPS
    ]
    settings.METRICS_ALLOWED_IPS = ["192.0.2.0/24"]
    seen = {}
    for name, front in (("own", own_server_front), ("uvicorn", uvicorn_front)):
        settings.TRACKER_REDIS_PREFIX = f"{settings.TRACKER_REDIS_PREFIX}-{name}"
        with front() as port:
            seen[name] = [get(port, t, "User-Agent: qBittorrent/4.6.5") for t in targets]
    for own, other in zip(seen["own"], seen["uvicorn"], strict=True):
        assert own[0] == other[0]  # status line
        assert own[2] == other[2]  # body
        for field in ("content-type", "content-length", "cache-control"):
            assert own[1].get(field) == other[1].get(field)
    statuses = [s for s, _, _ in seen["own"]]
    assert statuses == ["HTTP/1.1 200 OK"] * 8 + ["HTTP/1.1 403 Forbidden"]
    assert bdecode(seen["own"][1][2])[b"peers"]  # the second peer was given the first
    assert b"peer id" in seen["own"][2][2]  # compact=0: dictionaries with peer ids
    assert b"Unknown passkey" in seen["own"][5][2]


def test_keep_alive_pipelining_and_http_1_0(member):
    torrent = make_torrent()
    target = (f"/scrape/{member.passkey}?"
              f"{query(info_hash=bytes(torrent.info_hash_v1)).decode()}")
    with own_server_front() as port:
        # Two requests in one write on a keep-alive connection, the second asking to close:
        # both answered, in order, then the server closes.
        raw = exchange(port, (f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"
                              f"GET /elsewhere HTTP/1.1\r\nHost: x\r\n"
                              "Connection: close\r\n\r\n").encode())
        first, second = replies(raw)
        assert bdecode(first)[b"files"]
        assert b"failure reason" in bdecode(second)
        assert raw.count(b"HTTP/1.1 200 OK") == 2
        # Keep-alive: a second request on the same socket after the first reply.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            for _ in range(2):
                s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                reply = s.recv(65536)
                assert reply.startswith(b"HTTP/1.1 200 OK")
                assert b"connection: close" not in reply.lower()
        # HTTP/1.0 without keep-alive: answered and closed.
        raw = exchange(port, f"GET {target} HTTP/1.0\r\n\r\n".encode())
        assert raw.startswith(b"HTTP/1.1 200 OK") and b"connection: close" in raw
        assert len(replies(raw)) == 1


def test_malformed_oversized_and_idle_connections_are_closed(db, monkeypatch):
    import announce.server

    with own_server_front() as port:
        raw = exchange(port, b"NONSENSE\r\n\r\n")
        assert raw.startswith(b"HTTP/1.1 400 Bad Request")
        raw = exchange(port, b"GET /" + b"a" * (MAX_HEAD_BYTES + 10) + b" HTTP/1.1\r\n\r\n")
        assert raw.startswith(b"HTTP/1.1 431 ")
        raw = exchange(port, b"GET /x HTTP/1.1\r\nHost: x\r\nX-Big: "
                       + b"b" * (MAX_HEAD_BYTES + 10) + b"\r\n\r\n")
        assert raw.startswith(b"HTTP/1.1 431 ")
        # The same size as many small headers of one name: each counts, not only the last.
        many = b"X-Same: " + b"c" * 100 + b"\r\n"
        raw = exchange(port, b"GET /x HTTP/1.1\r\nHost: x\r\n"
                       + many * (MAX_HEAD_BYTES // 100 + 10) + b"\r\n")
        assert raw.startswith(b"HTTP/1.1 431 ")
        raw = exchange(port, b"GET /x HTTP/1.1\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\n\r\n")
        assert raw.startswith(b"HTTP/1.1 400 ")
        # A body is read and ignored.
        raw = exchange(port, b"POST /elsewhere HTTP/1.1\r\nContent-Length: 5\r\n"
                             b"Connection: close\r\n\r\nhello")
        assert raw.startswith(b"HTTP/1.1 200 OK") and b"failure reason" in raw
    monkeypatch.setattr(announce.server, "TIMEOUT_SECONDS", 0.5)
    with own_server_front() as port:
        # A connection that never completes a request is closed after the timeout.
        started = time.monotonic()
        assert exchange(port, b"GET /elsewhere HTTP/1.1\r\n") == b""
        assert 0.3 < time.monotonic() - started < 5
