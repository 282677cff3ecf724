"""Changes an area announces to the areas above it, which it must not import.

The tracker keeps what it knows of members and of banned addresses in its Redis until told
(domain.tracker.cache); accounts and moderation, below it, say that a member or the IP
bans changed, and the tracker's AppConfig.ready connects the invalidation. Send inside the
transaction of the change: the receivers drop their caches after commit."""

from __future__ import annotations

import uuid
from typing import Any

from django.dispatch import Signal

# A member's status, class, passkey, bans or warnings changed. Arguments: user_id, and
# passkeys (the member's old passkeys) when the passkey changed.
member_changed = Signal()
# An IP ban was issued, changed or lifted.
ip_bans_changed = Signal()


def member_changed_send(user_id: uuid.UUID | str, **named: Any) -> None:
    member_changed.send(sender=None, user_id=user_id, **named)


def ip_bans_changed_send() -> None:
    ip_bans_changed.send(sender=None)
