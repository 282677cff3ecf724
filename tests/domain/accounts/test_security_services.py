"""Two-factor, passkey reset, bans (issue, revoke, cached checks, announce denial)."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from django.utils import timezone

from domain.accounts.models import UserSession, UserTwoFactor
from domain.accounts.services import (
    passkey_reset,
    two_factor_begin,
    two_factor_confirm,
    two_factor_disable,
    two_factor_verify,
)
from domain.errors import Conflict, NotPermitted, ValidationFailed
from domain.moderation.models import AuditLog
from domain.moderation.selectors import announce_denial_reason, ip_ban_reason, user_ban_reasons
from domain.moderation.services import ban_issue, ban_revoke
from tests.domain.accounts.factories import PASSWORD, client_for, enable_two_factor, fresh_ip

pytestmark = pytest.mark.django_db


def _code_at(totp: pyotp.TOTP, steps: int = 0) -> str:
    return totp.at(timezone.now() + timedelta(seconds=30 * steps))


def test_enrolment_needs_a_correct_code_and_returns_hashed_backup_codes(member):
    row = two_factor_begin(user=member)
    totp = pyotp.TOTP(row.secret)

    with pytest.raises(ValidationFailed) as wrong:
        two_factor_confirm(user=member, code="000000" if _code_at(totp) != "000000"
                           else "111111")
    assert wrong.value.field == "code"
    codes = two_factor_confirm(user=member, code=_code_at(totp))

    row.refresh_from_db()
    assert row.is_enabled and row.confirmed_at is not None
    assert len(codes) == 10 and len(row.backup_codes) == 10
    assert not any(code in stored or code.replace("-", "") in stored
                   for code in codes for stored in row.backup_codes)
    assert AuditLog.objects.filter(action="user.2fa_enable", target_id=member.pk).exists()
    with pytest.raises(Conflict):
        two_factor_begin(user=member)


def test_a_code_is_refused_when_replayed_and_older_steps_too(member):
    totp = enable_two_factor(member)
    code = _code_at(totp)

    assert two_factor_verify(user=member, code=code, ip=fresh_ip()) == "totp"
    with pytest.raises(ValidationFailed, match="already used"):
        two_factor_verify(user=member, code=code, ip=fresh_ip())
    with pytest.raises(ValidationFailed):
        two_factor_verify(user=member, code=_code_at(totp, -1), ip=fresh_ip())
    assert two_factor_verify(user=member, code=_code_at(totp, 1), ip=fresh_ip()) == "totp"
    assert AuditLog.objects.filter(action="login.failed", target_id=member.pk,
                                   metadata__reason="2fa").count() == 2


def test_backup_codes_work_once_each(member):
    row = two_factor_begin(user=member)
    codes = two_factor_confirm(user=member, code=pyotp.TOTP(row.secret).now())

    assert two_factor_verify(user=member, code=codes[3].lower(), ip=fresh_ip()) == "backup"
    with pytest.raises(ValidationFailed):
        two_factor_verify(user=member, code=codes[3], ip=fresh_ip())
    assert len(UserTwoFactor.objects.get(user=member).backup_codes) == 9


def test_staff_cannot_turn_two_factor_off_but_members_can(member, moderator):
    enable_two_factor(moderator)
    enable_two_factor(member)
    with pytest.raises(NotPermitted):
        two_factor_disable(user=moderator, password=PASSWORD)
    with pytest.raises(ValidationFailed):
        two_factor_disable(user=member, password="wrong")
    two_factor_disable(user=member, password=PASSWORD)
    assert not UserTwoFactor.objects.filter(user=member).exists()


def test_passkey_reset_audits_and_drops_the_tracker_cache(member, monkeypatch):
    import domain.tracker.cache as tracker_cache

    dropped = []
    monkeypatch.setattr(tracker_cache, "invalidate_user",
                        lambda user_id, passkeys=(): dropped.append((user_id, passkeys)))
    old = member.passkey

    new = passkey_reset(user=member, actor=member)

    member.refresh_from_db()
    assert member.passkey == new != old and len(new) == 32
    assert dropped == [(member.pk, (old,))]
    row = AuditLog.objects.get(action="user.passkey_reset", target_id=member.pk)
    assert old not in str(row.changes) + str(row.metadata)  # the secret is not logged


def test_only_staff_with_users_edit_reset_someone_elses_passkey(member, moderator, sysop):
    with pytest.raises(NotPermitted):
        passkey_reset(user=member, actor=moderator)
    passkey_reset(user=member, actor=sysop)
    assert AuditLog.objects.get(action="user.passkey_reset").actor == sysop


def test_account_ban_ends_sessions_and_is_seen_by_every_check(
        member, moderator, django_capture_on_commit_callbacks):
    client_for(member)
    assert announce_denial_reason(member.pk, "192.0.2.1") is None  # cached "not banned"

    with django_capture_on_commit_callbacks(execute=True):
        ban = ban_issue(actor=moderator, ban_type="account", user=member,
                        reason="cheating", ip_address="192.0.2.9")

    reason = announce_denial_reason(member.pk, "192.0.2.1")
    assert reason is not None
    assert "cheating" in reason
    assert "account" in user_ban_reasons(member.pk)
    assert not UserSession.objects.filter(user=member, revoked_at__isnull=True).exists()
    audit = AuditLog.objects.get(action="ban.issue.account", target_id=ban.pk)
    assert audit.actor == moderator and audit.metadata["user_id"] == str(member.pk)

    with django_capture_on_commit_callbacks(execute=True):
        ban_revoke(actor=moderator, ban=ban)
    assert announce_denial_reason(member.pk, "192.0.2.1") is None
    assert AuditLog.objects.filter(action="ban.revoke.account").count() == 1
    with pytest.raises(Conflict):
        ban_revoke(actor=moderator, ban=ban)


def test_download_ban_refuses_leeching_announces_only(member, moderator,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ban_issue(actor=moderator, ban_type="download", user=member, reason="hit and run",
                  expires_at=timezone.now() + timedelta(days=3))
    reason = announce_denial_reason(member.pk, None, leeching=True)
    assert reason is not None
    assert "hit and run" in reason
    assert announce_denial_reason(member.pk, None, leeching=False) is None


def test_ip_range_bans_reach_cached_answers_at_once(member, moderator,
                                                    django_capture_on_commit_callbacks):
    assert ip_ban_reason("203.0.113.77") is None  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        ban_issue(actor=moderator, ban_type="ip", ip_range="203.0.113.0/24", reason="proxy")
    assert ip_ban_reason("203.0.113.77") == "proxy"
    reason = announce_denial_reason(member.pk, "203.0.113.77")
    assert reason is not None
    assert "proxy" in reason
    assert ip_ban_reason("203.0.114.1") is None
    assert ip_ban_reason("not an address") is None


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"ban_type": "ip", "ip_range": "300.1.1.1"}, "ip_range"),
    ({"ban_type": "email", "email_pattern": "nobody"}, "email_pattern"),
    ({"ban_type": "account"}, "user"),
    ({"ban_type": "ip", "ip_range": "10.0.0.0/8", "reason": " "}, "reason"),
])
def test_bad_ban_input_names_the_field(moderator, kwargs, field):
    with pytest.raises(ValidationFailed) as exc:
        ban_issue(actor=moderator, **{"reason": "r", **kwargs})
    assert exc.value.field == field


def test_members_cannot_ban(member, uploader):
    with pytest.raises(NotPermitted):
        ban_issue(actor=member, ban_type="account", user=uploader, reason="no")
