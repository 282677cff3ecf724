"""Changes an area announces to the areas above it, which it must not import.

The tracker keeps what it knows of members and of banned addresses in its Redis until told
(domain.tracker.cache); accounts and moderation, below it, say that a member or the IP
bans changed, and the tracker's AppConfig.ready connects the invalidation. Send inside the
transaction of the change: the receivers drop their caches after commit.

Accounts tells a member something (a class change, an achievement) through
member_notification, which community, the member's inbox, connects; community says a
member wrote text (chat, forum) through text_written, which moderation's word list reads.
Those receivers run inside the sender's transaction, as the call they replace did."""

from __future__ import annotations

import uuid
from typing import Any

from django.dispatch import Signal

# A member's status, class, passkey, bans or warnings changed. Arguments: user_id, and
# passkeys (the member's old passkeys) when the passkey changed.
member_changed = Signal()
# An IP ban was issued, changed or lifted.
ip_bans_changed = Signal()
# Tell a member something: the arguments of member_notification_send. CommunityConfig.ready
# connects domain.community.notifications.notification_send (stores it, pushes it live).
member_notification = Signal()
# A member wrote (or edited) text others read. Arguments: target_type, target_id, text,
# author_id. ModerationConfig.ready connects domain.moderation.autoflag.autoflag_text.
text_written = Signal()


def member_changed_send(user_id: uuid.UUID | str, **named: Any) -> None:
    member_changed.send(sender=None, user_id=user_id, **named)


def ip_bans_changed_send() -> None:
    ip_bans_changed.send(sender=None)


def member_notification_send(*, user_id: uuid.UUID, kind: str, title: str, body: str = "",
                             url: str = "", actor_id: uuid.UUID | None = None,
                             target_type: str = "", target_id: uuid.UUID | None = None,
                             payload: dict[str, Any] | None = None) -> None:
    member_notification.send(sender=None, user_id=user_id, kind=kind, title=title, body=body,
                             url=url, actor_id=actor_id, target_type=target_type,
                             target_id=target_id, payload=payload)


def text_written_send(*, target_type: str, target_id: uuid.UUID, text: str,
                      author_id: Any = None) -> None:
    text_written.send(sender=None, target_type=target_type, target_id=target_id, text=text,
                      author_id=author_id)
