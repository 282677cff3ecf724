"""notification_send: the one way any area tells a member something. Stores the row and,
after commit, pushes it to the member's open tabs (domain.events.NotificationNew)."""

from __future__ import annotations

import uuid
from typing import Any

from domain.community.events import event_id
from domain.community.models import Notification, NotificationKind
from domain.events import NotificationNew, NotificationPayload, publish


def notification_payload(notification: Notification, *, unread: int) -> NotificationPayload:
    return {
        "event_id": event_id(notification.created_at),
        "id": str(notification.id),
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "url": notification.url,
        "created_at": notification.created_at.isoformat(),
        "unread": unread,
    }


def notification_send(
    *,
    user_id: uuid.UUID,
    kind: NotificationKind | str,
    title: str,
    body: str = "",
    url: str = "",
    actor_id: uuid.UUID | None = None,
    target_type: str = "",
    target_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> Notification:
    notification = Notification.objects.create(
        user_id=user_id, kind=str(kind), title=title[:200], body=body, url=url,
        actor_id=actor_id, target_type=target_type, target_id=target_id,
        payload=payload or {},
    )
    unread = Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()
    publish(NotificationNew(user_id=user_id,
                            payload=notification_payload(notification, unread=unread)))
    return notification
