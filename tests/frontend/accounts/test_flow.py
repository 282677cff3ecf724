"""The whole journey in the browser: invited sign-up, confirmation, 2FA, logout, login with
a TOTP code, passkey reset and revoking a session, with CSRF checks on."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from django.core import mail
from django.utils import timezone

from domain.accounts.models import User, UserSession, UserStatus
from domain.accounts.sessions import session_key_hash
from domain.moderation.models import AuditLog
from tests.domain.accounts.factories import client_for, make_invite, make_persona

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-and-fine-passphrase"


def _csrf(client, url):
    page = client.get(url)
    assert page.status_code == 200, url
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token is not None, url
    return page, token.group(1)


def _post(client, url, data, *, page_url=None, **kw):
    _, token = _csrf(client, page_url or url)
    return client.post(url, {**data, "csrfmiddlewaretoken": token}, **kw)


def test_member_journey(settings, django_capture_on_commit_callbacks):
    settings.REGISTRATION_MODE = "invite"
    inviter = make_persona("power_user")
    invite = make_invite(inviter, email="newbie@example.test")
    browser = client_for(enforce_csrf_checks=True)

    # Sign up with the invite link, confirm by email.
    page = browser.get(f"/register/?invite={invite.code}")
    assert invite.code in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(browser, "/register/", {
            "username": "newbie", "email": "newbie@example.test", "password": PASSWORD,
            "password_again": PASSWORD, "invite_code": invite.code},
            page_url=f"/register/?invite={invite.code}")
    assert "Check your email" in response.content.decode()
    confirm = re.search(r"http://testserver(/confirm/\?token=\S+)", str(mail.outbox[-1].body))
    assert confirm is not None
    link = confirm.group(1)
    login_page = browser.post("/login/", {"username": "newbie", "password": PASSWORD})
    assert login_page.status_code == 403  # CSRF is on
    response = _post(browser, "/login/", {"username": "newbie", "password": PASSWORD})
    assert "not confirmed yet" in response.content.decode()
    assert "Account confirmed" in browser.get(link).content.decode()
    user = User.objects.get(username="newbie")
    assert user.status == UserStatus.ACTIVE and user.invited_by == inviter

    # Log in, enrol in 2FA.
    response = _post(browser, "/login/", {"username": "newbie", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    _post(browser, "/settings/2fa/", {"action": "begin"})
    html = browser.get("/settings/2fa/").content.decode()
    assert 'src="data:image/svg+xml;base64,' in html and "otpauth://totp/" in html
    secret = re.search(r'class="totp-secret">([A-Z2-7]+)<', html)
    assert secret is not None
    totp = pyotp.TOTP(secret.group(1))
    response = _post(browser, "/settings/2fa/", {"action": "confirm", "code": totp.now()})
    codes = re.findall(r"<li><code>([A-Z0-9-]{19})</code></li>", response.content.decode())
    assert len(codes) == 10

    # Log out; log in again: the password alone is not enough.
    _post(browser, "/logout/", {}, page_url="/")
    assert browser.get("/").status_code == 302
    response = _post(browser, "/login/", {"username": "newbie", "password": PASSWORD})
    assert response["Location"] == "/login/2fa/"
    assert browser.get("/").status_code == 302
    # The enrolment code's time step is spent; the next step's code is within the window.
    used = totp.at(timezone.now() + timedelta(seconds=30))
    response = _post(browser, "/login/2fa/", {"code": used})
    assert response.status_code == 302 and browser.get("/").status_code == 200
    assert AuditLog.objects.filter(action="login.success", target_id=user.pk,
                                   metadata__method="totp").exists()

    # Reset the passkey.
    old = user.passkey
    html = browser.get("/settings/passkey/").content.decode()
    assert old in html
    _post(browser, "/settings/passkey/", {})
    user.refresh_from_db()
    assert user.passkey != old
    assert user.passkey in browser.get("/settings/passkey/").content.decode()

    # A second device logs in with a backup code; revoke it from the first.
    phone = client_for(enforce_csrf_checks=True)
    _post(phone, "/login/", {"username": "newbie", "password": PASSWORD})
    response = _post(phone, "/login/2fa/", {"code": used})  # a replayed code
    assert "already used" in response.content.decode()
    _post(phone, "/login/2fa/", {"code": codes[0]})
    assert phone.get("/").status_code == 200
    phone_key = phone.session.session_key
    assert phone_key is not None
    phone_row = UserSession.objects.get(
        user=user, revoked_at__isnull=True, token_hash=session_key_hash(phone_key))
    html = browser.get("/settings/sessions/").content.decode()
    assert str(phone_row.pk) in html and "this session" in html
    _post(browser, f"/settings/sessions/{phone_row.pk}/revoke/", {},
          page_url="/settings/sessions/")
    assert phone.get("/").status_code == 302
    assert browser.get("/").status_code == 200
