from __future__ import annotations

import pytest
from django.db import transaction

from domain.accounts.models import UserStatus
from domain.accounts.permissions import Perm, require_perm, user_has_perm
from domain.errors import NotPermitted
from domain.moderation.models import AuditLog
from domain.moderation.services import audit_log_write
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_permission_comes_from_the_group(member, moderator):
    assert user_has_perm(member, Perm.DOWNLOAD)
    assert not user_has_perm(member, Perm.TORRENTS_MODERATE)
    assert user_has_perm(moderator, Perm.TORRENTS_MODERATE)


def test_inactive_and_anonymous_members_may_do_nothing(member):
    from django.contrib.auth.models import AnonymousUser

    assert not user_has_perm(AnonymousUser(), Perm.SITE_ACCESS)
    assert not user_has_perm(None, Perm.SITE_ACCESS)
    validating = make_user("member", status=UserStatus.VALIDATING)
    assert not user_has_perm(validating, Perm.DOWNLOAD)
    member.status = UserStatus.DISABLED
    assert not user_has_perm(member, Perm.DOWNLOAD)


def test_require_perm_raises_an_error_a_member_can_read(member):
    with pytest.raises(NotPermitted, match="approve and reject uploads"):
        require_perm(member, Perm.TORRENTS_MODERATE)


def test_audit_rows_are_written_with_the_change(moderator, member):
    with transaction.atomic():
        row = audit_log_write(action="user.passkey_reset", actor=moderator, target_type="user",
                              target_id=member.id, ip_address="192.0.2.5",
                              changes={"passkey": ["(hidden)", "(hidden)"]})
    stored = AuditLog.objects.get(id=row.id)
    assert (stored.actor_id, stored.action, stored.target_id) == (moderator.id,
                                                                  "user.passkey_reset", member.id)


def test_audit_rows_roll_back_with_a_failed_change(moderator):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_log_write(action="user.edit", actor=moderator)
        raise RuntimeError("the change failed")
    assert not AuditLog.objects.filter(action="user.edit").exists()
