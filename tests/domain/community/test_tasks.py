"""The weekly chat cleanup: its logic (called directly), its beat entry, and its wiring
through a real Celery worker on a private queue."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from domain.community.models import ChatMessage, ChatRoom
from domain.community.tasks import chat_messages_cleanup_task
from server.celery import app, beat_schedule


def _old_and_new(user, days_old: int) -> tuple[ChatMessage, ChatMessage]:
    room = ChatRoom.objects.get(name="general")
    old = ChatMessage.objects.create(room=room, user=user, body="old",
                                     created_at=timezone.now() - timedelta(days=days_old))
    new = ChatMessage.objects.create(room=room, user=user, body="new")
    return old, new


@pytest.mark.django_db
def test_cleanup_uses_the_retention_setting_and_is_safe_to_repeat(member, settings):
    settings.COMMUNITY_CHAT_RETENTION_DAYS = 30
    _old_and_new(member, days_old=31)
    _, kept = _old_and_new(member, days_old=29)
    assert chat_messages_cleanup_task() == 1
    assert chat_messages_cleanup_task() == 0
    assert ChatMessage.objects.filter(body="old").count() == 1  # the 29-day-old one
    assert ChatMessage.objects.filter(id=kept.id).exists()


def test_beat_runs_the_cleanup_on_its_setting(settings):
    settings.COMMUNITY_CHAT_CLEANUP_SECONDS = 1234
    entry = beat_schedule()["community-chat-cleanup"]
    assert entry == {"task": "community.chat_messages_cleanup", "schedule": 1234.0}
    assert "community.chat_messages_cleanup" in app.tasks


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_cleanup(member):
    old, new = _old_and_new(member, days_old=400)
    queue = f"test-community-{uuid.uuid4().hex}"
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue]):
        result = chat_messages_cleanup_task.apply_async(queue=queue)
        assert result.get(timeout=30) == 1
    assert not ChatMessage.objects.filter(id=old.id).exists()
    assert ChatMessage.objects.filter(id=new.id).exists()
