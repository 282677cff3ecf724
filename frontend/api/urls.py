"""The machine face's URLs: /api/v1/ (its own namespace, `api_v1`, which django-ninja
reverses itself), Torznab, the UNIT3D-shaped routes, and the keys and docs pages (`api`)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from frontend.api import keys, torznab
from frontend.api.unit3d import api as api_unit3d
from frontend.api.v1 import api as api_v1

pages: list[URLPattern | URLResolver] = [
    path("api/", keys.docs_view, name="docs"),
    path("api/torznab", torznab.torznab, name="torznab"),
    path("api/torznab/api", torznab.torznab, name="torznab_api"),
    path("api/torznab/download/<uuid:torrent_id>.torrent", torznab.download,
         name="torznab_download"),
    path("settings/api-keys/", keys.keys_view, name="keys"),
    path("settings/api-keys/<uuid:key_id>/revoke/", keys.revoke_view, name="key_revoke"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/v1/", api_v1.urls),
    path("", include((pages, "api"))),
    path("api/", api_unit3d.urls),
]
