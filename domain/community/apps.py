from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "domain.community"
    label = "community"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from typing import Any

        from domain import signals
        from domain.community.notifications import notification_send

        # Accounts, below community, tells members things through domain.signals; they
        # land in the inbox here.
        def member_notification(*, sender: object, signal: object, **fields: Any) -> None:
            notification_send(**fields)

        signals.member_notification.connect(member_notification, weak=False,
                                            dispatch_uid="community_member_notification")
