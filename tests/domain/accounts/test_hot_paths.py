"""Query counts on the per-request and per-announce paths."""

from __future__ import annotations

import pytest

from domain.accounts.sessions import SessionStore
from domain.moderation.selectors import announce_denial_reason, ip_ban_reason, user_ban_reasons
from tests.domain.accounts.factories import client_for, fresh_ip

pytestmark = pytest.mark.django_db


def test_ban_checks_cost_no_queries_once_cached(member, django_assert_num_queries):
    ip = fresh_ip()
    announce_denial_reason(member.pk, ip, leeching=True)
    with django_assert_num_queries(0):
        assert user_ban_reasons(member.pk) == {}
        assert ip_ban_reason(ip) is None
        assert announce_denial_reason(member.pk, ip, leeching=True) is None


def test_loading_a_logged_in_session_is_one_query(member, django_assert_num_queries):
    client = client_for(member)
    key = client.session.session_key
    SessionStore(key).load()  # last_seen is fresh now: no write follows
    with django_assert_num_queries(1):
        assert SessionStore(key).load()["_auth_user_id"] == str(member.pk)


def test_the_guard_adds_no_queries_to_a_request(member, django_assert_num_queries):
    client = client_for(member)
    client.get("/settings/")  # warms the ban caches and last_seen
    # session row check + user + the 2FA row the settings page shows + the header's unread
    # badges (frontend.context_processors.header_unread)
    with django_assert_num_queries(4):
        assert client.get("/settings/").status_code == 200
