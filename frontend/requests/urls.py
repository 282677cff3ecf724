from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from frontend.requests import views

app_name = "requests"

urlpatterns: list[URLPattern | URLResolver] = [
    path("requests/", views.browse, name="browse"),
    path("requests/new/", views.create, name="create"),
    path("requests/<uuid:request_id>/", views.detail, name="detail"),
    path("requests/<uuid:request_id>/edit/", views.edit, name="edit"),
    path("requests/<uuid:request_id>/vote/", views.vote, name="vote"),
    path("requests/<uuid:request_id>/fill/", views.fill, name="fill"),
    path("requests/<uuid:request_id>/unfill/", views.unfill, name="unfill"),
    path("requests/<uuid:request_id>/delete/", views.delete, name="delete"),
    path("requests/<uuid:request_id>/comments/", views.comment_post, name="comment_post"),
]
