from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "domain.search"
    label = "search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers search.queue_drain / search.queue_purge with Celery wherever Django
        # is set up (web, worker, beat), independent of the autodiscover list.
        from domain.search import tasks  # noqa: F401
