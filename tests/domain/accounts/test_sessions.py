"""The session engine: user_sessions rows with the token hashed, revocation everywhere."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import SESSION_KEY
from django.utils import timezone

from domain.accounts.models import UserSession
from domain.accounts.services import password_change, session_revoke
from domain.accounts.sessions import (
    SessionStore,
    session_key_hash,
    sessions_revoke_all,
    user_sessions_cleanup,
)
from domain.events import user_group
from domain.moderation.models import AuditLog
from tests.domain.accounts.factories import PASSWORD, client_for

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-much-better-passphrase-42"


def test_login_records_a_row_holding_only_the_token_hash(member):
    client = client_for(member)
    key = client.session.session_key
    assert key is not None

    row = UserSession.objects.get(user=member)
    assert row.token_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in row.token_hash
    assert row.expires_at > timezone.now() + timedelta(days=13)
    assert client.get("/").status_code == 200


def test_a_revoked_row_logs_the_session_out_even_with_data_in_redis(member):
    client = client_for(member)
    UserSession.objects.filter(user=member).update(revoked_at=timezone.now())

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_anonymous_sessions_make_no_rows(db):
    store = SessionStore()
    store["cart"] = 1
    store.save()

    assert SessionStore(store.session_key).load() == {"cart": 1}
    assert UserSession.objects.count() == 0


def test_session_data_for_a_user_is_refused_without_its_row(member):
    store = SessionStore()
    store[SESSION_KEY] = str(member.pk)
    store.save()
    store_key = store.session_key
    assert store_key is not None
    UserSession.objects.filter(token_hash=session_key_hash(store_key)).delete()

    assert SessionStore(store.session_key).load() == {}


def test_logout_revokes_the_row(member):
    client = client_for(member)

    client.post("/logout/")

    assert UserSession.objects.get(user=member).revoked_at is not None
    assert client.get("/").status_code == 302


def _listen(user_id):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(user_id), channel)
    return layer, channel


def _events(layer, channel, count):
    return [async_to_sync(layer.receive)(channel) for _ in range(count)]


@pytest.mark.django_db(transaction=True)
def test_revoking_one_session_tells_its_sockets_by_hash(member):
    layer, channel = _listen(member.pk)
    client_for(member)
    row = UserSession.objects.get(user=member)

    session_revoke(user=member, session_id=row.pk)

    (event,) = _events(layer, channel, 1)
    assert event["type"] == "session.revoked"
    assert event["payload"]["session_key_hash"] == row.token_hash
    assert AuditLog.objects.filter(action="session.revoke", target_id=member.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_password_change_ends_every_other_session(member):
    layer, channel = _listen(member.pk)
    keep = client_for(member)
    other = client_for(member)
    other_key = other.session.session_key
    assert other_key is not None
    other_hash = session_key_hash(other_key)

    password_change(user=member, old_password=PASSWORD, new_password=NEW_PASSWORD,
                    current_session_key=keep.session.session_key)

    (event,) = _events(layer, channel, 1)
    assert event["payload"]["session_key_hash"] == other_hash
    assert UserSession.objects.get(token_hash=other_hash).revoked_at is not None
    assert other.get("/").status_code == 302
    assert AuditLog.objects.filter(action="user.password_change").count() == 1


@pytest.mark.django_db(transaction=True)
def test_revoking_all_sends_one_event_without_a_hash(member):
    layer, channel = _listen(member.pk)
    client_for(member)
    client_for(member)
    from django.db import transaction

    with transaction.atomic():
        assert sessions_revoke_all(user_id=member.pk, reason="ban") == 2

    (event,) = _events(layer, channel, 1)
    assert "session_key_hash" not in event["payload"]
    assert not UserSession.objects.filter(user=member, revoked_at__isnull=True).exists()


def test_cleanup_deletes_long_ended_rows_only_and_is_idempotent(member, settings):
    settings.SESSION_ROW_KEEP_DAYS = 30
    now = timezone.now()
    old = now - timedelta(days=40)

    def row(tag, **kw):
        return UserSession.objects.create(
            user=member, token_hash=hashlib.sha256(tag.encode()).hexdigest(), **kw)

    expired = row("expired", created_at=old, expires_at=old + timedelta(days=1))
    revoked = row("revoked", created_at=old, expires_at=now + timedelta(days=1),
                  revoked_at=old)
    recent = row("recent", created_at=now - timedelta(days=2),
                 expires_at=now - timedelta(days=1))
    live = row("live", expires_at=now + timedelta(days=1))

    assert user_sessions_cleanup() == 2
    assert user_sessions_cleanup() == 0
    remaining = set(UserSession.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, live.pk}
    assert expired.pk not in remaining and revoked.pk not in remaining
