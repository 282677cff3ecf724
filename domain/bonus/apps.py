from django.apps import AppConfig


class BonusConfig(AppConfig):
    name = "domain.bonus"
    label = "bonus"
    default_auto_field = "django.db.models.BigAutoField"
