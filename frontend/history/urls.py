from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from frontend.history import views

app_name = "history"

urlpatterns: list[URLPattern | URLResolver] = [
    path("history/", views.mine, name="mine"),
    path("users/<str:username>/history/<slug:kind>/", views.member_list, name="list"),
    path("torrents/<uuid:torrent_id>/peers/", views.peers, name="peers"),
    path("torrents/<uuid:torrent_id>/snatches/", views.snatches, name="snatches"),
]
