"""Every channel-layer group name and event payload, and the one way services publish.

Services never call the channel layer directly: they call `publish_on_commit`, so an event
leaves only once the transaction that caused it has committed (a rolled-back write sends
nothing). Consumers subscribe to the groups named here and forward what their user may see.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


def user_group(user_id: uuid.UUID | str) -> str:
    """Everything addressed to one member: notifications, PMs, session revocation."""
    return f"user.{user_id}"


def torrent_group(torrent_id: uuid.UUID | str) -> str:
    """Live peer counts of one torrent."""
    return f"torrent.{torrent_id}"


def chat_room_group(room_name: str) -> str:
    return f"chat.{room_name}"


def forum_topic_group(topic_id: uuid.UUID | str) -> str:
    return f"forum.topic.{topic_id}"


MODERATION_GROUP = "moderation"


def _send(group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:
        # Live delivery is best effort: the write it reports has committed, and pages
        # catch up on reconnect. Never let Redis trouble fail the request.
        log.exception("publishing %s to %s failed", event.get("type"), group)


def publish_on_commit(group: str, event_type: str, payload: dict[str, Any]) -> None:
    """Send `{"type": event_type, "payload": payload}` to `group` after commit."""
    event = {"type": event_type, "payload": payload}
    transaction.on_commit(lambda: _send(group, event))


def publish_many_on_commit(events: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Send many `(group, event_type, payload)` after commit in one pass through the event
    loop: a beat job's batch costs one thread hop, not one per event."""
    if not events:
        return
    items = [(group, {"type": event_type, "payload": payload})
             for group, event_type, payload in events]

    async def send_all(layer: Any) -> None:
        for group, event in items:
            await layer.group_send(group, event)

    def run() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(send_all)(layer)
        except Exception:
            log.exception("publishing a batch of %d events failed", len(items))

    transaction.on_commit(run)
