from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from frontend.stats import views

app_name = "stats"

urlpatterns: list[URLPattern | URLResolver] = [
    path("top10/", views.top10, name="top10"),
    path("statistics/", views.statistics, name="statistics"),
]
