"""A warning added, changed or deleted in Django admin takes effect as warning_issue's do:
the member's points, the threshold bans and the banner follow."""

from __future__ import annotations

import pytest
from django.test import Client

from domain.moderation.models import Ban, Warning
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _form(target, points, **over):
    form = {"user": str(target.pk), "reason": "Spam in the forums", "points": str(points),
            "expires_at_0": "", "expires_at_1": "", "appeal_status": "none",
            "appeal_text": "", "source": "staff", "target_type": "", "target_id": ""}
    form.update(over)
    return form


def test_a_warning_added_in_admin_counts_and_deleting_it_lifts_it(sysop):
    target = make_user("member")
    staff = Client()
    staff.force_login(sysop)

    response = staff.post("/admin/moderation/warning/add/", _form(target, 6))
    assert response.status_code == 302, response.content.decode()[:3000]
    target.refresh_from_db()
    assert target.warning_points == 6
    assert Ban.objects.filter(user=target, ban_type="download", from_warnings=True,
                              revoked_at__isnull=True).exists()
    warning = Warning.objects.get(user=target)
    assert warning.issued_by == sysop

    response = staff.post(f"/admin/moderation/warning/{warning.pk}/change/",
                          _form(target, 2))
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.warning_points == 2
    assert not Ban.objects.filter(user=target, from_warnings=True,
                                  revoked_at__isnull=True).exists()

    response = staff.post(f"/admin/moderation/warning/{warning.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.warning_points == 0


def test_lowering_a_threshold_in_admin_applies_it(sysop, django_capture_on_commit_callbacks):
    from domain.moderation.models import WarningThreshold

    target = make_user("member")
    from domain.moderation.warnings import warning_issue

    warning_issue(actor=None, member=target, reason="old", points=3, expires_at=None)
    threshold = WarningThreshold.objects.get(consequence="download")
    staff = Client()
    staff.force_login(sysop)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(f"/admin/moderation/warningthreshold/{threshold.pk}/change/", {
            "points": "3", "consequence": "download", "description": "", "is_active": "on"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    target.refresh_from_db()
    assert target.warning_points == 3
    assert Ban.objects.filter(user=target, ban_type="download", from_warnings=True).exists()
