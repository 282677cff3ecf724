from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "domain.tracker"
    label = "tracker"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from domain.tracker.cache import invalidate_client_rules
        from domain.tracker.models import ClientRule

        # Rules change in admin, in bulk or from the shell: every path drops the cache.
        def changed(**_: object) -> None:
            invalidate_client_rules()

        post_save.connect(changed, sender=ClientRule, weak=False,
                          dispatch_uid="tracker_client_rules_saved")
        post_delete.connect(changed, sender=ClientRule, weak=False,
                            dispatch_uid="tracker_client_rules_deleted")
