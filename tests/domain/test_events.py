"""The event catalog (domain/events.py): every type declared once, every publisher going
through it, and every event sent to a member's own group handled by the consumer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from channels.consumer import get_handler_name
from django.db import transaction

from consumers.live import LiveConsumer
from domain import events
from domain.base import TargetType
from domain.moderation.reports import report_file
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("announce", "consumers", "domain", "frontend", "server")


def test_the_catalog_names_each_type_once():
    types = events.event_types()
    assert set(types) >= {
        "notification.new", "notification.read", "pm.new", "pm.read", "live.event",
        "session.revoked", "chat.message", "chat.typing", "chat.presence", "forum.post",
        "forum.topic", "peers.counts", "moderation.item", "moderation.report",
        "moderation.claimed", "moderation.resolved"}
    for name, cls in types.items():
        assert cls.type == name
        assert issubclass(cls, events.MemberEvent | events.StreamEvent), name


def test_every_event_to_a_members_own_group_has_a_consumer_handler():
    """Channels raises on a type with no handler, which would close every tab of the
    member: each member event type must have one on LiveConsumer."""
    member_types = [name for name, cls in events.event_types().items()
                    if issubclass(cls, events.MemberEvent)]
    assert "notification.new" in member_types and "session.revoked" in member_types
    missing = [name for name in member_types
               if not callable(getattr(LiveConsumer, get_handler_name({"type": name}), None))]
    assert missing == []


def test_groups_follow_from_the_events_routing_fields():
    assert events.NotificationNew(user_id="u1", payload={}).group == "user.u1"  # type: ignore[typeddict-item]
    assert events.ChatMessageChanged(room="lobby", payload={}).group == "chat.lobby"  # type: ignore[typeddict-item]
    assert events.ForumPostChanged(topic_id="t", payload={}).group == "forum.topic.t"  # type: ignore[typeddict-item]
    assert events.PeersCounts(torrent_id="x", payload={}).group == "torrent.x"  # type: ignore[typeddict-item]
    assert events.ModerationReport(payload={}).group == events.MODERATION_GROUP  # type: ignore[typeddict-item]


def test_nothing_but_the_catalog_calls_the_channel_layer():
    """Every publisher goes through domain.events (publish, publish_many, publish_now)."""
    offenders = []
    for area in PRODUCTION:
        for path in (ROOT / area).rglob("*.py"):
            if path == ROOT / "domain" / "events.py":
                continue
            text = path.read_text()
            if re.search(r"\.group_send\(|publish_on_commit|publish_many_on_commit", text):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


@pytest.mark.django_db
def test_filing_a_report_publishes_moderation_report_after_commit(
        published_events, django_capture_on_commit_callbacks):
    member, author = make_user("member"), make_user("member")
    with django_capture_on_commit_callbacks(execute=True):
        report = report_file(reporter=member, target_type=TargetType.USER,
                             target_id=author.pk, reason="spam", description="Adverts")
    (payload,) = published_events.of("moderation.report")
    assert payload["id"] == str(report.pk) and payload["summary"] == "Adverts"
    assert (events.MODERATION_GROUP, "moderation.report", payload) in published_events


@pytest.mark.django_db
def test_a_rolled_back_write_publishes_nothing(published_events,
                                               django_capture_on_commit_callbacks):
    member = make_user("member")
    with (django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError),
          transaction.atomic()):
        events.publish(events.NotificationRead(user_id=member.pk,
                                               payload={"unread": 0, "id": None}))
        raise RuntimeError("rolled back")
    assert published_events == []
