"""Helpers for socket tests: a logged-in member's headers and an open, greeted socket."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from server.asgi import application

ORIGIN = (b"origin", b"http://testserver")
Headers = list[tuple[bytes, bytes]]


def session_headers(user: Any) -> Headers:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()), ORIGIN]


@asynccontextmanager
async def open_socket(headers: Headers) -> AsyncIterator[WebsocketCommunicator]:
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    try:
        hello = await communicator.receive_json_from()
        assert hello["type"] == "hello"
        yield communicator
    finally:
        await communicator.disconnect()


async def subscribe(socket: WebsocketCommunicator, stream: str, request_id: Any = "sub",
                    **payload: Any) -> dict[str, Any]:
    """Subscribe and return the `subscribed` reply (replayed events stay queued)."""
    frame: dict[str, Any] = {"type": "subscribe", "stream": stream, "id": request_id}
    if payload:
        frame["payload"] = payload
    await socket.send_json_to(frame)
    reply = await socket.receive_json_from(timeout=5)
    # Another socket's join may be announced to this one before its own reply arrives.
    while reply.get("event") == "chat.presence":
        reply = await socket.receive_json_from(timeout=5)
    assert reply["type"] == "subscribed", reply
    assert reply["id"] == request_id
    return reply


async def next_frame(socket: WebsocketCommunicator, *, skip: tuple[str, ...] = ("chat.presence",),
                     timeout: float = 5) -> dict[str, Any]:
    """The next frame that is not one of the `skip` events (presence comes and goes)."""
    while True:
        frame = await socket.receive_json_from(timeout=timeout)
        if frame.get("event") not in skip:
            return frame


async def drain(socket: WebsocketCommunicator,
                until: Callable[[dict[str, Any]], bool] | None = None,
                timeout: float = 5) -> list[dict[str, Any]]:
    """Every frame until the socket goes quiet; with `until`, first wait (up to `timeout`)
    for a frame matching it, so a loaded machine cannot end the wait too early."""
    frames: list[dict[str, Any]] = []
    if until is not None:
        while not any(until(f) for f in frames):
            frames.append(await socket.receive_json_from(timeout=timeout))
    while not await socket.receive_nothing(timeout=0.3):
        frames.append(await socket.receive_json_from())
    return frames


def is_event(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame.get("event") == name


def is_type(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame.get("type") == name
