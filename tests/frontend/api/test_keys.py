"""The API keys settings page and service: shown once, stored hashed, scoped, audited,
revoked at once."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.test import Client

from domain.accounts.apikeys import MAX_ACTIVE_KEYS, api_key_create
from domain.accounts.models import ApiKey
from domain.errors import NotFound, ValidationFailed
from domain.moderation.models import AuditLog
from tests.frontend.api.conftest import key_for

pytestmark = pytest.mark.django_db
TOKEN_RE = re.compile(r"trk_[0-9a-f]{40}")


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_create_shows_the_key_once_and_stores_only_its_hash(member):
    client = login(member)
    response = client.post("/settings/api-keys/", {"name": "Prowlarr",
                                                   "scopes": ["search", "download"]},
                           REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200
    (token,) = set(TOKEN_RE.findall(response.content.decode()))
    key = ApiKey.objects.get(user=member)
    assert key.name == "Prowlarr" and key.scopes == ["search", "download"]
    assert key.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(ApiKey.objects.filter(pk=key.pk).values().get())
    assert token[:12] == key.prefix
    page = client.get("/settings/api-keys/").content.decode()
    assert token not in page and key.prefix in page and "Prowlarr" in page
    audit = AuditLog.objects.get(action="api_key.create")
    assert audit.actor_id == member.pk and audit.metadata["key_id"] == str(key.pk)
    assert str(audit.ip_address) == "203.0.113.9"
    assert token not in str(audit.metadata)


def test_last_use_and_address_are_shown(member):
    token = key_for(member, "search")
    Client().get("/api/torznab", {"t": "search", "apikey": token}, REMOTE_ADDR="198.51.100.4")
    key = ApiKey.objects.get(user=member)
    assert key.last_used_at is not None and key.last_used_ip == "198.51.100.4"
    assert "198.51.100.4" in login(member).get("/settings/api-keys/").content.decode()


def test_revoke_through_the_page_is_audited_and_immediate(member):
    token = key_for(member, "search")
    key = ApiKey.objects.get(user=member)
    client = login(member)
    response = client.post(f"/settings/api-keys/{key.pk}/revoke/")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditLog.objects.filter(action="api_key.revoke", actor=member).count() == 1
    answer = Client().get("/api/torznab", {"t": "search", "apikey": token})
    assert b'code="100"' in answer.content
    assert "revoked" in client.get("/settings/api-keys/").content.decode()


def test_nobody_revokes_another_members_key(member, uploader):
    key_for(member)
    key = ApiKey.objects.get(user=member)
    response = login(uploader).post(f"/settings/api-keys/{key.pk}/revoke/")
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_bad_input_gets_field_errors_and_saves_nothing(member):
    client = login(member)
    response = client.post("/settings/api-keys/", {"name": "x", "scopes": []})
    assert response.status_code == 400 and ApiKey.objects.count() == 0
    response = client.post("/settings/api-keys/", {"name": "x", "scopes": ["root"]})
    assert response.status_code == 400 and ApiKey.objects.count() == 0
    response = client.post("/settings/api-keys/", {"name": "  ", "scopes": ["search"]})
    assert response.status_code == 400 and ApiKey.objects.count() == 0
    with pytest.raises(ValidationFailed):
        api_key_create(user=member, name="n" * 65, scopes=["search"])
    with pytest.raises(ValidationFailed):
        api_key_create(user=member, name="ok", scopes=["search", "admin"])


def test_at_most_twenty_live_keys(member):
    for i in range(MAX_ACTIVE_KEYS):
        key_for(member, "search", name=f"k{i}")
    with pytest.raises(ValidationFailed):
        key_for(member, "search", name="one too many")
    assert ApiKey.objects.filter(user=member).count() == MAX_ACTIVE_KEYS


def test_banned_members_cannot_make_keys(banned):
    with pytest.raises(Exception) as caught:
        api_key_create(user=banned, name="x", scopes=["search"])
    assert getattr(caught.value, "code", "") == "forbidden"


def test_settings_link_and_login_required(member):
    assert "/settings/api-keys/" in login(member).get("/settings/").content.decode()
    assert Client().get("/settings/api-keys/").status_code == 302
    assert Client().post("/settings/api-keys/", {"name": "x", "scopes": ["search"]}
                         ).status_code == 302
    assert ApiKey.objects.count() == 0


def test_revoking_twice_or_unknown_ids(member):
    from domain.accounts.apikeys import api_key_revoke

    key_for(member)
    key = ApiKey.objects.get(user=member)
    api_key_revoke(user=member, key_id=key.pk)
    with pytest.raises(Exception) as caught:
        api_key_revoke(user=member, key_id=key.pk)
    assert getattr(caught.value, "code", "") == "conflict"
    with pytest.raises(NotFound):
        api_key_revoke(user=member, key_id="not-a-uuid")


def test_docs_page_explains_prowlarr_sonarr_radarr(member):
    page = login(member).get("/api/").content.decode()
    assert "Generic Torznab" in page and "http://testserver/api/torznab" in page
    for anchor in ('id="prowlarr"', 'id="sonarr"', 'id="radarr"', 'href="/api/v1/docs"'):
        assert anchor in page
    assert "5040" in page and "100002" in page  # the category table
    assert Client().get("/api/").status_code == 302
