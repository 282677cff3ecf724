"""Pages and the health endpoint. Views parse, authorize, call the domain and render."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from domain.accounts.avatars import CONTENT_TYPES
from domain.accounts.permissions import Perm, user_has_perm
from domain.accounts.selectors import members_online
from domain.catalog.home import catalog_home
from domain.community import selectors as community
from domain.errors import NotFound

log = logging.getLogger(__name__)

# A health probe must answer well inside a load balancer's timeout even when Redis is
# blackholed, so every Redis wait is bounded and redis-py's default retries (ten, with
# exponential backoff) are switched off.
REDIS_TIMEOUT_SECONDS = 1.0
HEALTH_DEADLINE_SECONDS = 2.0


HOME_CHAT_ROOM = "general"
HOME_CHAT_MESSAGES = 6
HOME_ANNOUNCEMENTS_FORUM = "announcements"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The shared parts (catalog lists, site figures, who is online, announcements) come
    from the cache; the member's own are the access checks and the chat preview."""
    user = request.user
    context: dict[str, Any] = {"catalog": None, "chat": None, "announcements": []}
    if user_has_perm(user, Perm.SITE_ACCESS):
        context["catalog"] = catalog_home()
        context["online"], context["online_total"] = members_online()
        context["announcements"] = community.forum_latest_topics(
            user, HOME_ANNOUNCEMENTS_FORUM)
        try:
            room = community.chat_room_get(user, HOME_CHAT_ROOM)
        except NotFound:
            pass
        else:
            messages = community.chat_history(user, room, limit=HOME_CHAT_MESSAGES)
            # home.js follows the room from the newest change it was given (an edit moves
            # a message's event id past later messages').
            context["chat"] = {"room": room, "messages": messages, "size": HOME_CHAT_MESSAGES,
                               "last_event_id": max((m["event_id"] for m in messages),
                                                    default="")}
    return render(request, "frontend/home.html", context)


_AVATAR_NAME = re.compile(r"[0-9a-f]{32}-[0-9a-f]{16}(?:_[A-Za-z0-9]{7})?\.(png|jpg|gif|webp)")


@login_required
@require_safe
def media_avatar(request: HttpRequest, name: str) -> FileResponse:
    """An avatar file as stored by accounts.services.profile_update: only names that
    function writes, with the type its check found (the extension) and nosniff, so a file
    is never taken for HTML or script."""
    match = _AVATAR_NAME.fullmatch(name)
    path = Path(settings.MEDIA_ROOT) / "avatars" / name
    if match is None or not path.is_file():
        raise Http404("No such avatar.")
    response = FileResponse(path.open("rb"), content_type=CONTENT_TYPES[match.group(1)])
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=86400"
    return response


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
