from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from frontend.torrents import views

app_name = "torrents"

urlpatterns: list[URLPattern | URLResolver] = [
    path("torrents/", views.browse, name="browse"),
    path("torrents/upload/", views.upload, name="upload"),
    path("torrents/feed/", views.feed_settings, name="feed_settings"),
    path("torrents/<uuid:torrent_id>/", views.detail, name="detail"),
    path("torrents/<uuid:torrent_id>/download/", views.download, name="download"),
    path("torrents/<uuid:torrent_id>/edit/", views.edit, name="edit"),
    path("torrents/<uuid:torrent_id>/delete/", views.delete, name="delete"),
    path("torrents/<uuid:torrent_id>/moderate/", views.moderate, name="moderate"),
    path("torrents/<uuid:torrent_id>/tags/", views.tag_add, name="tag_add"),
    path("torrents/<uuid:torrent_id>/tags/<uuid:assignment_id>/vote/", views.tag_vote,
         name="tag_vote"),
    path("torrents/<uuid:torrent_id>/comments/", views.comment_post, name="comment_post"),
    path("comments/<uuid:comment_id>/edit/", views.comment_edit, name="comment_edit"),
    path("comments/<uuid:comment_id>/delete/", views.comment_delete, name="comment_delete"),
    path("rss/<str:token>/", views.feed, name="feed"),
    path("rss/<str:token>/<uuid:torrent_id>.torrent", views.feed_download,
         name="feed_download"),
]
