from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from frontend.collections import views

app_name = "collections"

urlpatterns: list[URLPattern | URLResolver] = [
    path("collections/", views.browse, name="browse"),
    path("collections/new/", views.create, name="create"),
    path("collections/<uuid:collection_id>/", views.detail, name="detail"),
    path("collections/<uuid:collection_id>/edit/", views.edit, name="edit"),
    path("collections/<uuid:collection_id>/add/", views.add, name="add"),
    path("collections/<uuid:collection_id>/remove/<uuid:torrent_id>/", views.remove,
         name="remove"),
    path("collections/<uuid:collection_id>/reorder/", views.reorder, name="reorder"),
    path("collections/<uuid:collection_id>/subscribe/", views.subscribe, name="subscribe"),
    path("collections/<uuid:collection_id>/feature/", views.feature, name="feature"),
    path("collections/<uuid:collection_id>/delete/", views.delete, name="delete"),
    path("collections/<uuid:collection_id>/comments/", views.comment_post,
         name="comment_post"),
]
