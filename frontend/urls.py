from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from frontend import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    # Django's LogoutView only accepts POST (a GET link could be triggered cross-site).
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # One URL module per area, each owned by its area (namespaced: "accounts:profile").
    path("", include("frontend.accounts.urls")),
    path("", include("frontend.torrents.urls")),
    path("", include("frontend.community.urls")),
    path("", include("frontend.bonus.urls")),
    path("staff/", include("frontend.staff.urls")),
]
