from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from frontend.bonus import views

app_name = "bonus"

urlpatterns: list[URLPattern | URLResolver] = [
    path("bonus/", views.store, name="store"),
    path("bonus/upload/", views.buy_upload, name="buy_upload"),
    path("bonus/tokens/", views.buy_tokens, name="buy_tokens"),
    path("bonus/tokens/use/", views.use_token, name="use_token"),
    path("bonus/gift/", views.gift, name="gift"),
]
