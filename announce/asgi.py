"""The standalone tracker process: `uvicorn announce.asgi:application` (Procfile `tracker`).

Serves /announce and /scrape only, for sites that put the tracker on its own port or host
behind the proxy; server/asgi.py mounts the same app ahead of Django for single-process
sites.
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")
django.setup()

from announce.app import application  # noqa: E402
from server.gctuning import tune_for_server  # noqa: E402

tune_for_server()

__all__ = ["application"]
