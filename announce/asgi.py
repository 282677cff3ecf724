"""The tracker's ASGI app alone, for any ASGI server: `uvicorn announce.asgi:application`.

Serves /announce and /scrape only. The Procfile's `tracker` runs the tracker's own server
(`python -m announce.server`, the same reply code); server/asgi.py mounts the same app ahead
of Django for single-process sites.
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
