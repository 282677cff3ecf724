from __future__ import annotations

from django.urls import include, path

from frontend import views
from frontend.accounts import views as accounts_views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Member uploads under MEDIA_ROOT (avatars), served by us: no outside host needed.
    path("media/avatars/<str:name>", views.media_avatar, name="media_avatar"),
    # Login with rate limits, clear refusals and the second factor (frontend/accounts).
    path("login/", accounts_views.login_view, name="login"),
    # POST only (a GET link could be triggered cross-site).
    path("logout/", accounts_views.logout_view, name="logout"),
    # One URL module per area, each owned by its area (namespaced: "accounts:profile").
    path("", include("frontend.accounts.urls")),
    path("", include("frontend.torrents.urls")),
    path("", include("frontend.community.urls")),
    path("", include("frontend.bonus.urls")),
    path("", include("frontend.history.urls")),
    path("", include("frontend.requests.urls")),
    path("", include("frontend.collections.urls")),
    path("", include("frontend.stats.urls")),
    path("staff/", include("frontend.staff.urls")),
    path("", include("frontend.moderation.urls")),
    path("", include("frontend.api.urls")),
]
