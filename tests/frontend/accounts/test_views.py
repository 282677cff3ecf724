"""Every accounts page per persona: allowed, refused, and what each sees of another
member under paranoia. Form errors, escaping and ownership."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from domain.accounts.models import Invite, UserPrivacy, UserSession, UserStatistics
from domain.accounts.sessions import ENROL_REQUIRED_KEY
from domain.moderation.models import AuditLog, Ban
from tests.domain.accounts.factories import (
    PASSWORD,
    client_for,
    enable_two_factor,
    make_invite,
    make_persona,
)

pytestmark = pytest.mark.django_db
GIB = 1024**3

SETTINGS_PAGES = ["/settings/", "/settings/password/", "/settings/email/", "/settings/2fa/",
                  "/settings/passkey/", "/settings/privacy/", "/settings/sessions/",
                  "/invites/"]
PERSONAS = ["member", "power_user", "uploader", "moderator", "sysop"]


@pytest.mark.parametrize("url", [*SETTINGS_PAGES, "/users/someone/"])
def test_anonymous_visitors_are_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_settings_page_opens_for_each_persona(persona):
    user = make_persona(persona)
    client = client_for(user)
    for url in SETTINGS_PAGES:
        assert client.get(url).status_code == 200, url
    profile = client.get(f"/users/{user.username}/").content.decode()
    assert "Settings" in profile


@pytest.mark.parametrize("persona", ["banned", "validating"])
def test_banned_and_validating_accounts_reach_no_page(persona):
    client = client_for(make_persona(persona))
    for url in SETTINGS_PAGES:
        assert client.get(url).status_code == 302, url


def test_banned_login_gets_a_clear_message(banned):
    client = client_for()
    response = client.post("/login/", {"username": banned.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "This account is banned" in response.content.decode()


def test_an_account_ban_logs_the_member_out_on_the_next_request(member, moderator,
                                                                 django_capture_on_commit_callbacks):
    from domain.moderation.services import ban_issue

    client = client_for(member)
    assert client.get("/settings/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        ban_issue(actor=moderator, ban_type="account", user=member,
                  reason="<b>trading accounts</b>")
    response = client.get("/settings/")
    # The session was revoked by the ban: logged out.
    assert response.status_code == 302


def test_middleware_logs_out_a_banned_member_with_the_reason(member):
    client = client_for(member)
    # A ban written without the service (e.g. by SQL) still reaches the member once the
    # cached answer expires; here there is no cached answer yet.
    Ban.objects.create(ban_type="account", user=member, reason="<b>trading accounts</b>")
    response = client.get("/settings/")
    content = response.content.decode()
    assert response.status_code == 403
    assert "&lt;b&gt;trading accounts&lt;/b&gt;" in content and "<b>trading" not in content
    assert client.get("/settings/").status_code == 302
    assert not UserSession.objects.filter(user=member, revoked_at__isnull=True).exists()


def test_a_banned_address_logs_the_member_out(member):
    client = client_for(member, ip="192.0.2.200")
    Ban.objects.create(ban_type="ip", ip_range="192.0.2.128/25", reason="open proxy")
    response = client.get("/")
    assert response.status_code == 403 and "open proxy" in response.content.decode()


def test_staff_logging_in_without_2fa_must_enrol_first(moderator):
    client = client_for()
    response = client.post("/login/", {"username": moderator.username, "password": PASSWORD})
    assert response["Location"] == "/settings/2fa/"
    assert client.get("/settings/sessions/")["Location"] == "/settings/2fa/"
    assert client.get("/settings/2fa/").status_code == 200
    assert client.session[ENROL_REQUIRED_KEY] is True


def test_staff_with_2fa_log_in_with_a_code(sysop):
    totp = enable_two_factor(sysop)
    client = client_for()
    response = client.post("/login/", {"username": sysop.username, "password": PASSWORD})
    assert response["Location"] == "/login/2fa/"
    response = client.post("/login/2fa/", {"code": "12345"})
    assert "not right" in response.content.decode()
    client.post("/login/2fa/", {"code": totp.now()})
    assert client.get("/settings/").status_code == 200


def test_the_second_step_alone_logs_nobody_in(member):
    client = client_for()
    assert client.get("/login/2fa/")["Location"] == "/login/"
    assert client.post("/login/2fa/", {"code": "123456"})["Location"] == "/login/"


def test_repeated_failures_are_refused_with_429(member, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 2
    client = client_for()
    for _ in range(2):
        client.post("/login/", {"username": member.username, "password": "nope-nope-1"})
    response = client.post("/login/", {"username": member.username, "password": PASSWORD})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_redirect_stays_on_site(member):
    client = client_for()
    response = client.post("/login/?next=https://evil.example/",
                           {"username": member.username, "password": PASSWORD,
                            "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_empty_login_form_shows_field_errors():
    response = client_for().post("/login/", {"username": "", "password": ""})
    assert response.content.decode().count('class="field-error"') == 2


def test_registration_form_errors(settings, member):
    settings.REGISTRATION_MODE = "open"
    client = client_for()
    response = client.post("/register/", {
        "username": member.username, "email": "x@example.test", "password": PASSWORD,
        "password_again": PASSWORD + "x"})
    content = response.content.decode()
    assert 'data-field="password_again"' in content
    response = client.post("/register/", {
        "username": member.username, "email": "x@example.test", "password": PASSWORD,
        "password_again": PASSWORD})
    assert 'data-field="username">This username is taken.' in response.content.decode()


def test_closed_registration_page(settings):
    settings.REGISTRATION_MODE = "closed"
    response = client_for().get("/register/")
    assert response.status_code == 403 and "Registration is closed" in response.content.decode()


def test_bad_confirmation_link_is_a_clear_page():
    response = client_for().get("/confirm/?token=garbage")
    assert response.status_code == 400 and "not valid" in response.content.decode()


def test_password_change_form_errors_and_success(member):
    client = client_for(member)
    response = client.post("/settings/password/", {
        "old_password": "wrong", "new_password": "x", "new_password_again": "y"})
    content = response.content.decode()
    assert 'data-field="new_password_again"' in content
    response = client.post("/settings/password/", {
        "old_password": "wrong", "new_password": "brand-new-passphrase",
        "new_password_again": "brand-new-passphrase"})
    assert "Your current password is not correct." in response.content.decode()
    response = client.post("/settings/password/", {
        "old_password": PASSWORD, "new_password": "brand-new-passphrase",
        "new_password_again": "brand-new-passphrase"})
    assert response.status_code == 302
    assert client.get("/settings/").status_code == 200  # this tab stays logged in
    member.refresh_from_db()
    assert member.check_password("brand-new-passphrase")


def test_email_change_refuses_a_taken_address(member, uploader):
    client = client_for(member)
    response = client.post("/settings/email/", {"email": uploader.email, "password": PASSWORD})
    assert "An account with this email address exists." in response.content.decode()
    client.post("/settings/email/", {"email": "fresh@example.test", "password": PASSWORD})
    member.refresh_from_db()
    assert member.email == "fresh@example.test"
    assert AuditLog.objects.filter(action="user.email_change", target_id=member.pk).exists()


def test_privacy_form_saves_and_audits(member):
    client = client_for(member)
    data = {name: "on" for name in UserPrivacy.SETTINGS if name != "show_ratio"}
    assert client.post("/settings/privacy/", data).status_code == 302
    assert UserPrivacy.objects.get(user=member).show_ratio is False
    audit = AuditLog.objects.get(action="user.privacy_change", target_id=member.pk)
    assert audit.changes == {"show_ratio": [True, False]}


def test_nobody_revokes_another_members_session(member, uploader):
    client_for(uploader)
    row = UserSession.objects.get(user=uploader)
    client = client_for(member)
    assert client.post(f"/settings/sessions/{row.pk}/revoke/").status_code == 404
    assert client.get(f"/settings/sessions/{row.pk}/revoke/").status_code == 405
    row.refresh_from_db()
    assert row.revoked_at is None
    assert str(row.pk) not in client.get("/settings/sessions/").content.decode()


def test_sessions_page_escapes_the_client_string(member):
    client = client_for(member)
    UserSession.objects.filter(user=member).update(user_agent="<script>x</script>")
    content = client.get("/settings/sessions/").content.decode()
    assert "&lt;script&gt;x&lt;/script&gt;" in content and "<script>x" not in content


def test_passkey_is_shown_only_to_its_owner(member, uploader):
    mine = client_for(member).get("/settings/passkey/").content.decode()
    assert member.passkey in mine
    theirs = client_for(uploader).get(f"/users/{member.username}/").content.decode()
    assert member.passkey not in theirs
    staff_view = client_for(make_persona("sysop")).get(f"/users/{member.username}/")
    assert member.passkey not in staff_view.content.decode()


def test_invites_page_sends_and_nobody_revokes_anothers(settings, member):
    settings.REGISTRATION_MODE = "invite"
    power = make_persona("power_user")
    client = client_for(power)
    response = client.post("/invites/", {"email": "not-an-email"})
    assert 'data-field="email"' in response.content.decode()
    assert client.post("/invites/", {"email": "friend@example.test"}).status_code == 302
    invite = Invite.objects.get(inviter=power)
    assert client_for(member).post(f"/invites/{invite.pk}/revoke/").status_code == 404
    refused = client_for(member).post("/invites/", {"email": "pal@example.test"})
    assert refused.status_code == 403 and "cannot send invites" in refused.content.decode()
    client.post(f"/invites/{invite.pk}/revoke/")
    invite.refresh_from_db()
    assert invite.revoked_at is not None


def test_invite_tree_on_the_invites_page(member):
    power = make_persona("power_user")
    child = make_persona("member", invited_by=power)
    make_invite(power, email="pending@example.test")
    content = client_for(power).get("/invites/").content.decode()
    assert child.username in content and "pending@example.test" in content


@pytest.mark.parametrize(("viewer", "sees_hidden"), [
    ("member", False), ("power_user", False), ("uploader", False),
    ("forum_moderator", False), ("moderator", True), ("sysop", True),
])
def test_profile_under_paranoia_per_persona(viewer, sees_hidden):
    target = make_persona("member", title="<i>hi</i>")
    UserStatistics.objects.filter(user=target).update(uploaded=3 * GIB, seeding_count=4)
    UserPrivacy.objects.filter(user=target).update(show_uploaded=False, show_seeding=False,
                                                   show_achievements=False)
    response = client_for(make_persona(viewer)).get(f"/users/{target.username}/")
    content = response.content.decode()
    assert "&lt;i&gt;hi&lt;/i&gt;" in content
    assert ("3.0\xa0GB" in content) is sees_hidden
    assert ('class="stat-uploaded"><span class="hidden-stat">hidden' in content) is not sees_hidden
    assert ("<h2>Achievements</h2>" in content) is sees_hidden
    assert 'class="stat-downloaded">0\xa0bytes' in content


def test_own_profile_shows_everything(member):
    UserPrivacy.objects.filter(user=member).update(show_uploaded=False)
    content = client_for(member).get(f"/users/{member.username}/").content.decode()
    assert "hidden-stat" not in content


def test_unknown_and_banned_profiles_are_not_found(member, banned):
    client = client_for(member)
    assert client.get("/users/nobody-here/").status_code == 404
    assert client.get(f"/users/{banned.username}/").status_code == 404


def test_2fa_page_refuses_unknown_actions_and_bad_codes(member):
    client = client_for(member)
    assert client.post("/settings/2fa/", {"action": "explode"}).status_code == 400
    client.post("/settings/2fa/", {"action": "begin"})
    response = client.post("/settings/2fa/", {"action": "confirm", "code": "abc"})
    assert response.status_code == 400 and 'data-field="code"' in response.content.decode()


def test_members_turn_2fa_off_with_their_password_staff_cannot(member, moderator):
    enable_two_factor(member)
    client = client_for(member)
    response = client.post("/settings/2fa/", {"action": "disable", "password": "wrong"})
    assert "Your password is not correct." in response.content.decode()
    client.post("/settings/2fa/", {"action": "disable", "password": PASSWORD})
    assert "is <strong>off</strong>" in client.get("/settings/2fa/").content.decode()
    enable_two_factor(moderator)
    staff = client_for(moderator)
    assert ">Turn off<" not in staff.get("/settings/2fa/").content.decode()
    staff.post("/settings/2fa/", {"action": "disable", "password": PASSWORD})
    assert "is <strong>on</strong>" in staff.get("/settings/2fa/").content.decode()


def test_expired_sessions_are_not_listed(member):
    client = client_for(member)
    UserSession.objects.create(user=member, token_hash="0" * 64,
                               created_at=timezone.now() - timedelta(days=3),
                               expires_at=timezone.now() - timedelta(days=1))
    content = client.get("/settings/sessions/").content.decode()
    assert content.count('data-session=') == 1


def test_admin_login_page_sends_people_to_our_login():
    response = client_for().get("/admin/login/?next=/admin/accounts/")
    assert response["Location"] == "/login/?next=%2Fadmin%2Faccounts%2F"


def test_admin_login_form_gets_our_checks(sysop, moderator, settings):
    totp_user = sysop
    enable_two_factor(totp_user)
    client = client_for()
    response = client.post("/admin/login/", {"username": sysop.username,
                                             "password": PASSWORD})
    assert response["Location"].startswith("/login/")  # the code is still needed
    assert "_auth_user_id" not in client.session

    client.post("/admin/login/", {"username": moderator.username, "password": PASSWORD})
    assert client.get("/admin/")["Location"] == "/settings/2fa/"  # enrol first

    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 1
    other = client_for()
    other.post("/admin/login/", {"username": moderator.username, "password": "wrong-1"})
    assert AuditLog.objects.filter(action="login.failed", target_id=moderator.pk,
                                   metadata__reason="admin_form").exists()
    refused = other.post("/admin/login/", {"username": moderator.username,
                                           "password": PASSWORD})
    assert refused.status_code == 429


def test_sessions_record_when_the_member_was_last_seen(member):
    client = client_for(member)
    UserSession.objects.filter(user=member).update(
        last_seen_at=timezone.now() - timedelta(hours=1))
    client.get("/settings/")
    member.refresh_from_db()
    assert member.last_seen_at > timezone.now() - timedelta(minutes=1)
    row = UserSession.objects.get(user=member)
    assert row.last_seen_at > timezone.now() - timedelta(minutes=1)
