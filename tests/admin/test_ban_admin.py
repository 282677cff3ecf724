"""A ban made in Django admin takes effect like one made by ban_issue: the member's
sessions end at once."""

from __future__ import annotations

import pytest
from django.test import Client

from domain.accounts.models import UserSession
from domain.moderation.models import Ban
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_an_account_ban_added_in_admin_ends_the_members_sessions(sysop):
    target = make_user("member")
    browser = Client()
    assert browser.login(username=target.username, password=PASSWORD)
    assert browser.get("/").status_code == 200
    assert UserSession.objects.filter(user=target, revoked_at__isnull=True).exists()

    staff = Client()
    staff.force_login(sysop)
    response = staff.post("/admin/moderation/ban/add/", {
        "ban_type": "account", "user": str(target.pk), "ip_range": "", "email_pattern": "",
        "reason": "Ratio cheating", "expires_at_0": "", "expires_at_1": "",
        "appeal_status": "none", "appeal_text": "",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Ban.objects.filter(user=target, ban_type="account").exists()
    assert not UserSession.objects.filter(user=target, revoked_at__isnull=True).exists()
    assert browser.get("/").status_code == 302  # logged out


def test_deleting_an_account_ban_in_admin_lifts_it_without_ending_sessions(sysop):
    target = make_user("member")
    ban = Ban.objects.create(ban_type="account", user=target, reason="Mistake")
    browser = Client()
    browser.force_login(target)
    staff = Client()
    staff.force_login(sysop)

    response = staff.post(f"/admin/moderation/ban/{ban.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Ban.objects.filter(pk=ban.pk).exists()
    assert UserSession.objects.filter(user=target, revoked_at__isnull=True).exists()
    assert browser.get("/").status_code == 200
