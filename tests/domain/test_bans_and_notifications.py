from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from domain.community.models import Notification
from domain.community.notifications import notification_send
from domain.moderation.models import Ban
from domain.moderation.selectors import ban_active_for_user, ban_for_email, ban_for_ip

pytestmark = pytest.mark.django_db


def test_user_ban_is_active_until_it_expires_or_is_revoked(member):
    assert ban_active_for_user(member.id, "download") is None
    ban = Ban.objects.create(ban_type="download", user=member, reason="hit and run",
                             expires_at=timezone.now() + timedelta(days=1))
    assert ban_active_for_user(member.id, "download") == ban
    assert ban_active_for_user(member.id, "upload") is None
    Ban.objects.filter(pk=ban.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert ban_active_for_user(member.id, "download") is None


def test_ip_ban_covers_its_range_only():
    Ban.objects.create(ban_type="ip", ip_range="203.0.113.0/24", reason="proxies")
    Ban.objects.create(ban_type="ip", ip_range="2001:db8::/32", reason="v6 proxies",
                       revoked_at=timezone.now())
    assert ban_for_ip("203.0.113.200") is not None
    assert ban_for_ip("203.0.114.1") is None
    assert ban_for_ip("2001:db8::1") is None


def test_email_patterns_match_case_insensitively_and_literally():
    Ban.objects.create(ban_type="email", email_pattern="*@spam.example", reason="spam")
    Ban.objects.create(ban_type="email", email_pattern="a_b@example.org", reason="one")
    assert ban_for_email("Someone@SPAM.example") is not None
    assert ban_for_email("someone@notspam.example.org") is None
    assert ban_for_email("a_b@example.org") is not None
    assert ban_for_email("axb@example.org") is None


def test_notification_is_stored_and_sent_after_commit(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        sent = notification_send(user_id=member.id, kind="system", title="Welcome")
    assert Notification.objects.get(id=sent.id).read_at is None
    assert len(callbacks) == 1
