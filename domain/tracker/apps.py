from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "domain.tracker"
    label = "tracker"
    default_auto_field = "django.db.models.BigAutoField"
