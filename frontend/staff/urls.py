from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from frontend.staff import views

app_name = "staff"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("members/", views.member_lookup, name="lookup"),
    path("members/<uuid:member_id>/", views.member_page, name="member"),
    path("members/<uuid:member_id>/ban/", views.member_ban, name="member_ban"),
    path("members/<uuid:member_id>/notes/", views.note_add, name="note_add"),
    path("bans/<uuid:ban_id>/revoke/", views.ban_revoke, name="ban_revoke"),
    path("warnings/<uuid:warning_id>/lift/", views.warning_lift, name="warning_lift"),
    re_path(r"^warn/(?P<target_type>[a-z_]{1,32})/(?P<target_id>[0-9a-f-]{36})/$",
            views.warn_target, name="warn_target"),
    path("reports/<uuid:report_id>/", views.report_page, name="report"),
    path("appeals/", views.appeal_list, name="appeals"),
    path("appeals/<uuid:appeal_id>/", views.appeal_page, name="appeal"),
    path("appeals/target/<uuid:target_id>/", views.appeal_for_target,
         name="appeal_for_target"),
    path("audit/", views.audit_log, name="audit"),
]
