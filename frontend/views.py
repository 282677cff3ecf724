"""Pages and the health endpoint. Views parse, authorize, call the domain and render."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger(__name__)

# A health probe must answer well inside a load balancer's timeout even when Redis is
# blackholed, so every Redis wait is bounded and redis-py's default retries (ten, with
# exponential backoff) are switched off.
REDIS_TIMEOUT_SECONDS = 1.0
HEALTH_DEADLINE_SECONDS = 2.0


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/home.html")


def _failure(check: str, exc: BaseException) -> dict[str, Any]:
    # The endpoint is public: the response names the kind of failure only; the details
    # (hosts, ports, server messages) go to the log.
    log.warning("health check %s failed", check, exc_info=exc)
    return {"ok": False, "error": type(exc).__name__}


def _check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return _failure("database", exc)
    return {"ok": True}


async def _check_redis() -> dict[str, Any]:
    client = None
    try:
        async with asyncio.timeout(HEALTH_DEADLINE_SECONDS):
            client = aioredis.Redis.from_url(
                settings.REDIS_URL,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                retry=Retry(NoBackoff(), 0),
                single_connection_client=True,
            )
            await client.ping()
    except Exception as exc:
        return _failure("redis", exc)
    finally:
        if client is not None:
            try:
                await client.aclose()
            except Exception:
                log.debug("closing the health check Redis client failed", exc_info=True)
    return {"ok": True}


async def _check_database_async() -> dict[str, Any]:
    try:
        return await sync_to_async(_check_database)()
    except Exception as exc:  # e.g. the executor itself failing
        return _failure("database", exc)


@never_cache
@require_safe
async def healthz(request: HttpRequest) -> JsonResponse:
    """200 when PostgreSQL and Redis both answer, 503 otherwise; never raises."""
    database, redis_status = await asyncio.gather(_check_database_async(), _check_redis())
    healthy = database["ok"] and redis_status["ok"]
    return JsonResponse(
        {
            "status": "ok" if healthy else "unhealthy",
            "database": database,
            "redis": redis_status,
        },
        status=200 if healthy else 503,
    )
