"""The base site: home, login, logout, header, escaping."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from domain.accounts.models import UserSession
from domain.accounts.sessions import session_key_hash
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

ADMIN_LINK = 'href="/admin/"'


def test_anonymous_home_redirects_to_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_login_page_renders_with_site_name(client, settings):
    settings.SITE_NAME = "Quiet Harbour"

    response = client.get("/login/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "Quiet Harbour" in content
    assert 'name="csrfmiddlewaretoken"' in content
    assert 'id="live-notifications"' not in content  # no socket for anonymous visitors


def test_login_with_correct_password_lands_on_home(client, member):
    response = client.post(
        "/login/", {"username": member.username, "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain == [("/", 302)]
    content = response.content.decode()
    assert f"Welcome, {member.username}" in content
    assert member.group.display_name in content
    assert 'id="live-notifications"' in content
    assert client.session["_auth_user_id"] == str(member.pk)


def test_login_username_is_case_insensitive(client, member):
    response = client.post("/login/", {"username": member.username.upper(),
                                       "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(member.pk)


def test_wrong_password_shows_form_error(client, member):
    response = client.post("/login/", {"username": member.username, "password": "wrong-one"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_banned_member_cannot_log_in(client, banned):
    response = client.post("/login/", {"username": banned.username, "password": PASSWORD})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_logout_is_post_only_and_ends_the_session(client, member):
    client.force_login(member)
    session_key = client.session.session_key
    live = UserSession.objects.filter(token_hash=session_key_hash(session_key),
                                      revoked_at__isnull=True)
    assert live.exists()

    assert client.get("/logout/").status_code == 405
    assert client.get("/").status_code == 200  # a GET did not log out

    response = client.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert not live.exists()
    assert client.get("/").status_code == 302


def test_logout_form_carries_a_csrf_token(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    home = client.get("/").content.decode()
    form = re.search(r'<form method="post" action="/logout/".*?</form>', home, re.S)
    assert form is not None
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(0))
    assert token is not None

    assert client.post("/logout/").status_code == 403  # no token, no logout
    response = client.post("/logout/", {"csrfmiddlewaretoken": token.group(1)})

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302


def test_user_supplied_text_is_escaped(client):
    user = make_user("member", title="<script>alert('x')</script>")
    client.force_login(user)

    content = client.get("/").content.decode()

    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in content
    assert "<script>alert" not in content


def test_admin_link_shown_to_staff_only(client, sysop, member):
    client.force_login(sysop)
    staff_page = client.get("/").content.decode()
    client.force_login(member)
    member_page = client.get("/").content.decode()

    assert ADMIN_LINK in staff_page
    assert ADMIN_LINK not in member_page
    assert client.get("/admin/").status_code == 302  # and admin refuses the member anyway


def test_header_shows_username_and_logout_when_logged_in(client, member):
    client.force_login(member)

    content = client.get("/").content.decode()

    assert (f'<a class="username" href="/users/{member.username}/">{member.username}</a>'
            in content)
    assert 'action="/logout/"' in content
    assert 'href="/login/"' not in content
