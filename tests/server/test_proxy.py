"""Behind a reverse proxy: the client's address comes from X-Forwarded-For only when the
connection is from a trusted proxy, for pages and sockets alike (server/proxy.py), through
the whole ASGI stack the server runs (server.asgi.application)."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async

from domain.moderation.models import AuditLog, BanType
from domain.moderation.services import ban_issue
from server.asgi import application
from tests.consumers.sockets import session_headers

pytestmark = pytest.mark.django_db(transaction=True)

PROXY = "10.9.8.7"


def _scope(method: str, path: str, *, client: str, headers: list[tuple[bytes, bytes]],
           kind: str = "http") -> dict[str, Any]:
    scope: dict[str, Any] = {"type": kind, "path": path, "raw_path": path.encode(),
                             "query_string": b"", "headers": [(b"host", b"testserver"),
                                                              *headers],
                             "client": (client, 40000), "server": ("127.0.0.1", 8000),
                             "scheme": "ws" if kind == "websocket" else "http"}
    if kind == "http":
        scope.update(method=method, http_version="1.1")
    return scope


async def _http(method: str, path: str, *, client: str, headers=(), body: bytes = b""
                ) -> tuple[int, dict[bytes, list[bytes]], bytes]:
    comm = ApplicationCommunicator(application, _scope(method, path, client=client,
                                                       headers=list(headers)))
    await comm.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await comm.receive_output(10)
    got: dict[bytes, list[bytes]] = {}
    for name, value in start.get("headers", []):
        got.setdefault(name.lower(), []).append(value)
    content = b""
    while True:
        message = await comm.receive_output(10)
        content += message.get("body", b"")
        if not message.get("more_body"):
            break
    return start["status"], got, content


async def _failed_login(*, client: str, forwarded: str | None, username: str) -> None:
    """A real login form round trip (CSRF cookie and token) with a wrong password."""
    extra = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    status, headers, page = await _http("GET", "/login/", client=client, headers=extra)
    assert status == 200
    cookie = SimpleCookie()
    for raw in headers[b"set-cookie"]:
        cookie.load(raw.decode())
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    body = urlencode({"csrfmiddlewaretoken": token.group(1).decode(), "username": username,
                      "password": "not-the-password-1"}).encode()
    status, _, _ = await _http("POST", "/login/", client=client, body=body, headers=[
        *extra, (b"content-type", b"application/x-www-form-urlencoded"),
        (b"cookie", f"csrftoken={cookie['csrftoken'].value}".encode())])
    assert status == 200  # the form again, with its error


def _failure_ips(user: Any) -> list[str]:
    return [str(ip) for ip in AuditLog.objects.filter(action="login.failed", target_id=user.pk)
            .order_by("created_at").values_list("ip_address", flat=True)]


async def test_pages_see_the_client_behind_a_trusted_proxy_only(member, settings):
    settings.TRUSTED_PROXIES = [f"{PROXY}/32"]
    await _failed_login(client=PROXY, forwarded="198.51.100.7", username=member.username)
    # From anywhere else the header is the client's own words, and is ignored.
    await _failed_login(client="192.0.2.9", forwarded="198.51.100.8", username=member.username)
    # A chain: the nearest hop that is not a trusted proxy is the client.
    await _failed_login(client=PROXY, forwarded=f"203.0.113.1, 198.51.100.9, {PROXY}",
                        username=member.username)
    ips = await database_sync_to_async(_failure_ips)(member)
    assert ips == ["198.51.100.7", "192.0.2.9", "198.51.100.9"]


async def test_without_trusted_proxies_the_header_is_ignored(member, settings):
    settings.TRUSTED_PROXIES = []
    await _failed_login(client=PROXY, forwarded="198.51.100.7", username=member.username)
    assert await database_sync_to_async(_failure_ips)(member) == [PROXY]


async def test_one_members_failures_behind_the_proxy_do_not_lock_out_the_others(
        member, moderator, settings):
    settings.TRUSTED_PROXIES = [f"{PROXY}/32"]
    settings.LOGIN_MAX_FAILURES_PER_IP = 2
    for _ in range(2):
        await _failed_login(client=PROXY, forwarded="198.51.100.20", username=member.username)
    # Every request arrives from the proxy, but the limit is the guesser's, not everyone's.
    await _failed_login(client=PROXY, forwarded="198.51.100.21", username=moderator.username)
    assert await database_sync_to_async(_failure_ips)(moderator) == ["198.51.100.21"]


def _ban_ip(actor: Any, ip: str) -> None:
    ban_issue(actor=actor, ban_type=BanType.IP, ip_range=f"{ip}/32", reason="spam")


async def _socket_closed_code(headers, *, client: str) -> int | None:
    comm = ApplicationCommunicator(application, _scope("GET", "/ws/", client=client,
                                                       headers=headers, kind="websocket"))
    await comm.send_input({"type": "websocket.connect"})
    first = await comm.receive_output(10)
    assert first["type"] == "websocket.accept"
    second = await comm.receive_output(10)
    await comm.send_input({"type": "websocket.disconnect", "code": 1000})
    await comm.wait(5)
    return second.get("code") if second["type"] == "websocket.close" else None


async def test_sockets_from_a_banned_address_behind_the_proxy_are_closed(member, sysop,
                                                                         settings):
    settings.TRUSTED_PROXIES = [f"{PROXY}/32"]
    await database_sync_to_async(_ban_ip)(sysop, "198.51.100.66")
    headers = await database_sync_to_async(session_headers)(member)
    banned = [*headers, (b"x-forwarded-for", b"198.51.100.66")]
    assert await _socket_closed_code(banned, client=PROXY) == 4401
    other = [*headers, (b"x-forwarded-for", b"198.51.100.67")]
    assert await _socket_closed_code(other, client=PROXY) is None  # greeted instead
