from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "domain.demo"
    label = "demo"
