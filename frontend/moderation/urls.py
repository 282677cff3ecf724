from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from frontend.moderation import views

app_name = "moderation"

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(r"^report/(?P<target_type>[a-z_]{1,32})/(?P<target_id>[0-9A-Za-z-]{1,64})/$",
            views.report_new, name="report"),
    path("reports/", views.my_reports, name="my_reports"),
    path("warnings/", views.my_warnings, name="my_warnings"),
    path("warnings/<uuid:warning_id>/acknowledge/", views.warning_acknowledge,
         name="warning_acknowledge"),
    path("appeals/", views.my_appeals, name="my_appeals"),
    path("appeal/<str:token>/", views.appeal_by_link, name="appeal_by_link"),
]
