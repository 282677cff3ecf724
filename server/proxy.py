"""The client's address behind a reverse proxy, for Django and the sockets.

daphne puts the connection's peer in scope["client"]; behind a proxy that is the proxy, so
every member would share its address (one member's failed logins would lock everyone out,
IP bans and recorded addresses would mean nothing). X-Forwarded-For is believed only when
the connection comes from one of TRUSTED_PROXIES, by the same rule the tracker uses for
announces (announce.parse.client_ip: the nearest hop that is not a trusted proxy), so a
member cannot forge their address by sending the header themselves.
"""

from __future__ import annotations

from typing import Any

from announce.parse import Malformed, client_ip

ASGIApp = Any


class ForwardedClientMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = _with_client(scope)
        await self.app(scope, receive, send)


def _with_client(scope: dict[str, Any]) -> dict[str, Any]:
    client = scope.get("client")
    if not client:
        return scope
    forwarded = None
    for name, value in scope.get("headers") or ():
        if name == b"x-forwarded-for":
            # Several headers are one list, in order (RFC 9110 5.3).
            forwarded = value if forwarded is None else forwarded + b"," + value
    if forwarded is None:
        return scope
    try:
        ip = client_ip(client[0], forwarded)
    except (Malformed, ValueError):
        # A trusted proxy that sends an unparsable hop is misconfigured: keep the peer.
        return scope
    if ip == client[0]:
        return scope
    return {**scope, "client": (ip, client[1] if len(client) > 1 else 0)}
