"""ASGI entry point: /announce and /scrape go to the tracker's plain ASGI app (announce/),
the rest of HTTP to Django, WebSockets to the consumers' router.

The announce app is mounted ahead of Django so the hot path skips middleware it does not
need; `tracker` in the Procfile runs the same app alone under uvicorn.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

# Static files are served by the app itself, so `make run` and a single-process deployment
# are complete; behind a proxy, the proxy serves /static/ from collectstatic and this handler
# never sees those paths.
django_asgi_app = ASGIStaticFilesHandler(get_asgi_application())

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from announce.app import application as announce_app  # noqa: E402
from consumers.routing import websocket_urlpatterns  # noqa: E402
from server.gctuning import tune_for_server  # noqa: E402
from server.proxy import ForwardedClientMiddleware  # noqa: E402

TRACKER_PATHS = ("/announce/", "/scrape/")


async def http_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    path = scope["path"]
    # /announce/<passkey> and /scrape/<passkey> (and the bare words, so a client missing
    # its passkey gets a bencoded reason); /announcements and the like stay Django's.
    # /metrics too: the tracker's Prometheus face, with its own access rule.
    if path.startswith(TRACKER_PATHS) or path in ("/announce", "/scrape", "/metrics"):
        # The tracker reads X-Forwarded-For itself (same rule), without a scope copy.
        await announce_app(scope, receive, send)
    else:
        await django_with_client(scope, receive, send)


django_with_client = ForwardedClientMiddleware(django_asgi_app)


application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": ForwardedClientMiddleware(AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        )),
    }
)

tune_for_server()
