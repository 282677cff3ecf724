from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "domain.moderation"
    label = "moderation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from typing import Any

        from domain import signals
        from domain.moderation.autoflag import autoflag_text

        # Community, below moderation, says when a member wrote text (chat, forum posts);
        # the word-list rules read it here, inside the writer's transaction.
        def text_written(*, sender: object, signal: object, **fields: Any) -> None:
            autoflag_text(**fields)

        signals.text_written.connect(text_written, weak=False,
                                     dispatch_uid="moderation_text_written")
