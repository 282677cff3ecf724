from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from frontend.api import keys, torznab

app_name = "api"

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/", keys.docs_view, name="docs"),
    path("api/torznab", torznab.torznab, name="torznab"),
    path("api/torznab/api", torznab.torznab, name="torznab_api"),
    path("api/torznab/download/<uuid:torrent_id>.torrent", torznab.download,
         name="torznab_download"),
    path("settings/api-keys/", keys.keys_view, name="keys"),
    path("settings/api-keys/<uuid:key_id>/revoke/", keys.revoke_view, name="key_revoke"),
]
