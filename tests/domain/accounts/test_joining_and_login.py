"""Registration modes, invites, email confirmation, login checks and rate limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from domain.accounts.models import Invite, User, UserStatistics, UserStatus
from domain.accounts.services import (
    account_confirm_email,
    account_register,
    email_confirmation_token,
    invite_create,
    invites_available,
    login_attempt,
)
from domain.errors import NotPermitted, RateLimited, ValidationFailed
from domain.moderation.models import AuditLog, Ban
from tests.domain.accounts.factories import (
    PASSWORD,
    fresh_ip,
    group,
    make_invite,
    make_persona,
)

pytestmark = pytest.mark.django_db
CONFIRM = "http://testserver/confirm/"
REGISTER = "http://testserver/register/"


def _register(**kw):
    data = {"username": "newbie", "email": "newbie@example.test", "password": PASSWORD,
            "ip": fresh_ip(), "confirm_url": CONFIRM}
    data.update(kw)
    return account_register(**data)


def test_invite_only_mode_requires_a_valid_invite(settings, django_capture_on_commit_callbacks):
    settings.REGISTRATION_MODE = "invite"
    inviter = make_persona("power_user")
    with pytest.raises(ValidationFailed) as missing:
        _register()
    assert missing.value.field == "invite_code"
    with pytest.raises(ValidationFailed):
        _register(invite_code="nope")
    invite = make_invite(inviter)

    with django_capture_on_commit_callbacks(execute=True):
        user = _register(invite_code=invite.code)

    assert user.status == UserStatus.VALIDATING and user.group.name == "validating"
    assert user.invited_by == inviter
    invite.refresh_from_db()
    assert invite.used_by == user and invite.used_at is not None
    assert len(mail.outbox) == 1 and CONFIRM + "?token=" in mail.outbox[0].body
    assert AuditLog.objects.filter(action="user.register", target_id=user.pk).exists()
    with pytest.raises(ValidationFailed):  # an invite works once
        _register(username="second", email="second@example.test", invite_code=invite.code)


def test_expired_and_revoked_invites_are_refused(settings):
    settings.REGISTRATION_MODE = "invite"
    inviter = make_persona("power_user")
    expired = make_invite(inviter, created_at=timezone.now() - timedelta(days=10),
                          expires_at=timezone.now() - timedelta(days=1))
    revoked = make_invite(inviter, revoked_at=timezone.now())
    for invite in (expired, revoked):
        with pytest.raises(ValidationFailed, match="not valid"):
            _register(invite_code=invite.code)
    assert not User.objects.filter(username="newbie").exists()


def test_closed_mode_refuses_and_open_mode_needs_no_invite(settings):
    settings.REGISTRATION_MODE = "closed"
    with pytest.raises(NotPermitted):
        _register()
    settings.REGISTRATION_MODE = "open"
    assert _register().invited_by is None


def test_banned_email_patterns_and_addresses_cannot_register(settings):
    settings.REGISTRATION_MODE = "open"
    Ban.objects.create(ban_type="email", email_pattern="*@spam.example", reason="spam")
    Ban.objects.create(ban_type="ip", ip_range="198.51.100.0/24", reason="proxy")
    with pytest.raises(ValidationFailed) as email:
        _register(email="Bob@SPAM.example")
    assert email.value.field == "email"
    with pytest.raises(NotPermitted):
        _register(ip="198.51.100.7")
    assert not User.objects.filter(username="newbie").exists()


@pytest.mark.parametrize(("field", "value"), [
    ("username", "a b"), ("username", "x"), ("email", "not-an-email"), ("password", "short"),
    ("password", "123456789012345"),
])
def test_bad_registration_input_names_the_field(settings, field, value):
    settings.REGISTRATION_MODE = "open"
    with pytest.raises(ValidationFailed) as exc:
        _register(**{field: value})
    assert exc.value.field == field


def test_taken_username_and_email_are_refused_case_insensitively(settings, member):
    settings.REGISTRATION_MODE = "open"
    with pytest.raises(ValidationFailed, match="taken"):
        _register(username=member.username.upper())
    with pytest.raises(ValidationFailed, match="exists"):
        _register(email=member.email.upper())


def test_confirmation_activates_once_and_bad_tokens_fail(settings):
    settings.REGISTRATION_MODE = "open"
    user = _register()
    token = email_confirmation_token(user)

    with pytest.raises(ValidationFailed):
        account_confirm_email(token=token + "x")
    confirmed = account_confirm_email(token=token)

    assert confirmed.status == UserStatus.ACTIVE and confirmed.group.name == "member"
    with pytest.raises(Exception, match="already confirmed"):
        account_confirm_email(token=token)
    assert AuditLog.objects.filter(action="user.email_confirmed").count() == 1


def test_invite_allowance_comes_from_the_group(settings, member):
    settings.REGISTRATION_MODE = "invite"
    assert invites_available(member) == 0  # members have no invite permission
    with pytest.raises(NotPermitted):
        invite_create(inviter=member, email="x@example.test", register_url=REGISTER)
    power = make_persona("power_user")
    assert invites_available(power) == group("power_user").invite_allowance == 2

    invite_create(inviter=power, email="a@example.test", register_url=REGISTER)
    invite_create(inviter=power, email="b@example.test", register_url=REGISTER)

    with pytest.raises(NotPermitted, match="no invites left"):
        invite_create(inviter=power, email="c@example.test", register_url=REGISTER)
    assert Invite.objects.filter(inviter=power).count() == 2
    assert UserStatistics.objects.get(user=power).invites_sent_count == 2


def _login(user_or_login, password=PASSWORD, ip=None):
    login = getattr(user_or_login, "username", user_or_login)
    return login_attempt(login=login, password=password, ip=ip or fresh_ip())


def test_login_by_username_or_email(member):
    assert _login(member).user == member
    assert _login(member.email.upper()).user == member


@pytest.mark.parametrize(("persona", "message"), [
    ("banned", "banned"), ("validating", "not confirmed"),
])
def test_refused_accounts_get_a_clear_message_only_with_the_password(persona, message):
    user = make_persona(persona)
    with pytest.raises(ValidationFailed, match="correct username and password"):
        _login(user, password="wrong-password-1")
    with pytest.raises(NotPermitted, match=message):
        _login(user)
    assert AuditLog.objects.filter(action="login.refused", target_id=user.pk).exists()


def test_disabled_and_account_banned_members_are_refused(member, moderator):
    disabled = make_persona("member", status=UserStatus.DISABLED)
    with pytest.raises(NotPermitted, match="disabled"):
        _login(disabled)
    Ban.objects.create(ban_type="account", user=member, reason="ratio cheating")
    with pytest.raises(NotPermitted, match="ratio cheating"):
        _login(member)


def test_failures_are_audited_and_rate_limited_per_account_and_source(member, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    attacker = fresh_ip()
    for _ in range(3):
        with pytest.raises(ValidationFailed):
            _login(member, password="wrong-password-1", ip=attacker)
    with pytest.raises(RateLimited):
        _login(member, ip=attacker)  # even the right password waits out the window there
    with pytest.raises(RateLimited):
        _login(member.email, ip=attacker)  # the email names the same account
    failures = AuditLog.objects.filter(action="login.failed", target_id=member.pk)
    assert failures.count() == 3
    first = failures.first()
    assert first is not None
    assert first.metadata["reason"] == "password"
    # Anyone can fail on purpose against any account: the owner, elsewhere, is not locked out.
    assert _login(member, ip=fresh_ip()).user == member


def test_a_correct_password_does_not_reset_the_second_factor_count(member, settings):
    """Password right, code wrong, again and again: the codes run out, whatever address the
    tries come from, and only a complete login starts the count again."""
    from domain.accounts.services import login_succeeded, two_factor_verify
    from tests.domain.accounts.factories import enable_two_factor

    settings.LOGIN_MAX_2FA_FAILURES = 3
    totp = enable_two_factor(member)
    for _ in range(3):
        assert _login(member).needs_2fa is True
        with pytest.raises(ValidationFailed):
            two_factor_verify(user=member, code="000000" if totp.now() != "000000"
                              else "111111", ip=fresh_ip())
    assert _login(member).needs_2fa is True  # the password step itself is not locked
    with pytest.raises(RateLimited):
        two_factor_verify(user=member, code=totp.now(), ip=fresh_ip())
    assert AuditLog.objects.filter(action="login.failed", target_id=member.pk,
                                   metadata__reason="2fa").count() == 3

    login_succeeded(user=member, ip=fresh_ip())  # e.g. after the window, a full login
    assert two_factor_verify(user=member, code=totp.now(), ip=fresh_ip()) == "totp"


def test_failures_are_rate_limited_per_address(member, settings):
    settings.LOGIN_MAX_FAILURES_PER_IP = 2
    ip = fresh_ip()
    for name in ("ghost-one", "ghost-two"):
        with pytest.raises(ValidationFailed):
            _login(name, ip=ip)
    with pytest.raises(RateLimited):
        _login(member, ip=ip)
    assert _login(member).user == member  # from another address it works


def test_staff_must_enrol_in_two_factor(moderator, member):
    assert _login(moderator).must_enrol_2fa is True
    assert _login(member).must_enrol_2fa is False
