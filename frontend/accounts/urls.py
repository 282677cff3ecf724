from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from frontend.accounts import views

app_name = "accounts"

urlpatterns: list[URLPattern | URLResolver] = [
    path("login/2fa/", views.login_2fa_view, name="login_2fa"),
    path("register/", views.register_view, name="register"),
    path("confirm/", views.confirm_view, name="confirm"),
    path("users/<str:username>/", views.profile_view, name="profile"),
    path("settings/", views.settings_view, name="settings"),
    path("settings/password/", views.password_view, name="password"),
    path("settings/email/", views.email_view, name="email"),
    path("settings/2fa/", views.two_factor_view, name="two_factor"),
    path("settings/passkey/", views.passkey_view, name="passkey"),
    path("settings/privacy/", views.privacy_view, name="privacy"),
    path("settings/profile/", views.profile_edit_view, name="profile_edit"),
    path("settings/sessions/", views.sessions_view, name="sessions"),
    path("settings/sessions/<uuid:session_id>/revoke/", views.session_revoke_view,
         name="session_revoke"),
    path("invites/", views.invites_view, name="invites"),
    path("invites/<uuid:invite_id>/revoke/", views.invite_revoke_view, name="invite_revoke"),
]
