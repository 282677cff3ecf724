"""Announce test helpers: requests as real clients send them (binary hashes percent-encoded
into the query string), sent straight to the ASGI app, replies bdecoded."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote_from_bytes

import bencodepy
from asgiref.sync import async_to_sync

from announce.app import application


def peer_id(prefix: bytes = b"-qB4650-") -> bytes:
    return prefix + os.urandom(20 - len(prefix))


def query(**params: Any) -> bytes:
    parts = []
    for name, value in params.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            raw = v if isinstance(v, bytes) else str(v).encode()
            parts.append(f"{name}={quote_from_bytes(raw, safe='')}")
    return "&".join(parts).encode()


async def call_app(path: str, query_string: bytes, *, ip: str = "10.1.2.3",
                   headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, bytes]:
    scope = {"type": "http", "method": "GET", "path": path, "query_string": query_string,
             "headers": headers or [(b"user-agent", b"qBittorrent/4.6.5")],
             "client": (ip, 51413), "server": ("127.0.0.1", 8000), "scheme": "http",
             "http_version": "1.1", "asgi": {"version": "3.0"}}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def raw_get(path: str, query_string: bytes, **kw: Any) -> tuple[int, bytes]:
    return async_to_sync(call_app)(path, query_string, **kw)


def bdecode(body: bytes) -> dict[bytes, Any]:
    return bencodepy.decode(body)


def announce(user: Any, info_hash: bytes, pid: bytes, *, port: int = 6881, uploaded: int = 0,
             downloaded: int = 0, left: int = 0, event: str | None = None,
             ip: str = "10.1.2.3", passkey: str | None = None, **extra: Any
             ) -> dict[bytes, Any]:
    params: dict[str, Any] = {"info_hash": info_hash, "peer_id": pid, "port": port,
                              "uploaded": uploaded, "downloaded": downloaded, "left": left,
                              "compact": 1}
    if event is not None:
        params["event"] = event
    params.update(extra)
    status, body = raw_get(f"/announce/{passkey or user.passkey}", query(**params), ip=ip)
    assert status == 200
    return bdecode(body)


def scrape(user: Any, *hashes: bytes) -> dict[bytes, Any]:
    status, body = raw_get(f"/scrape/{user.passkey}", query(info_hash=list(hashes)))
    assert status == 200
    return bdecode(body)


def failure(reply: dict[bytes, Any]) -> str:
    assert b"failure reason" in reply, reply
    return reply[b"failure reason"].decode()
