import uuid

from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "domain.tracker"
    label = "tracker"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from domain import signals
        from domain.tracker import cache
        from domain.tracker.cache import invalidate_client_rules
        from domain.tracker.models import ClientRule

        # Rules change in admin, in bulk or from the shell: every path drops the cache.
        def changed(**_: object) -> None:
            invalidate_client_rules()

        post_save.connect(changed, sender=ClientRule, weak=False,
                          dispatch_uid="tracker_client_rules_saved")
        post_delete.connect(changed, sender=ClientRule, weak=False,
                            dispatch_uid="tracker_client_rules_deleted")

        # Accounts and moderation say when a member or the IP bans changed
        # (domain.signals); the tracker forgets what it cached of them.
        def member_changed(*, user_id: uuid.UUID | str,
                           passkeys: tuple[str, ...] | None = None, **_: object) -> None:
            if passkeys is None:
                cache.invalidate_user(user_id)
            else:
                cache.invalidate_user(user_id, passkeys=passkeys)

        def ip_bans_changed(**_: object) -> None:
            cache.invalidate_ip_bans()

        signals.member_changed.connect(member_changed, weak=False,
                                       dispatch_uid="tracker_member_changed")
        signals.ip_bans_changed.connect(ip_bans_changed, weak=False,
                                        dispatch_uid="tracker_ip_bans_changed")
