from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Tracker administration"
admin.site.site_title = "Tracker admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("frontend.urls")),
]
