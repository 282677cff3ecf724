"""Warnings: points are the sum of active warnings, thresholds are data and their
consequences reach the tracker at once, and lifting or expiry undoes them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from domain.community.models import Notification
from domain.errors import NotPermitted, ValidationFailed
from domain.events import user_group
from domain.moderation.models import AuditLog, Ban, Warning, WarningThreshold
from domain.moderation.tasks import warnings_expire
from domain.moderation.warnings import (
    warning_acknowledge,
    warning_issue,
    warning_lift,
    warning_take_effect,
    warnings_unacknowledged,
    warnings_visible,
)
from tests.announce.factories import announce, failure, peer_id
from tests.domain.tracker.conftest import tracker_redis  # noqa: F401
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


def _warn(actor, member, points, **kw):
    kw.setdefault("reason", "Rude in chat")
    kw.setdefault("expires_at", timezone.now() + timedelta(days=7))
    return warning_issue(actor=actor, member=member, points=points, **kw)


def test_points_are_the_sum_of_active_warnings_and_each_issue_is_audited(moderator, member):
    first = _warn(moderator, member, 2)
    _warn(moderator, member, 1, expires_at=None)
    member.refresh_from_db()
    assert member.warning_points == 3
    assert AuditLog.objects.filter(action="warning.issue", target_id=first.id,
                                   actor=moderator).exists()
    # The member is told in the warning kind of notice, not a generic site notice.
    assert Notification.objects.get(user=member, target_id=first.id).kind == "warning"
    warning_lift(actor=moderator, warning=first, reason="Apologised")
    assert list(Notification.objects.filter(user=member, target_id=first.id)
                .order_by("created_at").values_list("kind", "title")) == [
        ("warning", "You received a warning (2 points) until "
                    f"{first.expires_at:%Y-%m-%d %H:%M} UTC"),
        ("warning_lifted", "A warning of yours was lifted")]
    member.refresh_from_db()
    assert member.warning_points == 1
    assert AuditLog.objects.filter(action="warning.points", target_id=member.id).count() == 3


def test_thresholds_take_downloads_then_the_account_and_give_them_back(
        moderator, member, django_capture_on_commit_callbacks):
    ih = bytes(make_torrent().info_hash_v1)
    assert b"failure reason" not in announce(member, ih, peer_id(), left=10)  # cached now

    with django_capture_on_commit_callbacks(execute=True):
        big = _warn(moderator, member, 5)
    assert Ban.objects.filter(user=member, ban_type="download", from_warnings=True,
                              revoked_at__isnull=True).exists()
    reason = failure(announce(member, ih, peer_id(), left=10))
    assert reason.startswith("Download forbidden")
    assert b"failure reason" not in announce(member, ih, peer_id(), left=0)  # may seed

    with django_capture_on_commit_callbacks(execute=True):
        _warn(moderator, member, 5)
    assert failure(announce(member, ih, peer_id())).startswith("Your account is banned")

    with django_capture_on_commit_callbacks(execute=True):
        warning_lift(actor=moderator, warning=big)
    assert not Ban.objects.filter(user=member, from_warnings=True,
                                  revoked_at__isnull=True, ban_type="account").exists()
    assert failure(announce(member, ih, peer_id(), left=10)).startswith("Download forbidden")


def test_thresholds_are_data(moderator, member):
    WarningThreshold.objects.filter(consequence="download").update(points=2)
    _warn(moderator, member, 2)
    assert Ban.objects.filter(user=member, ban_type="download", from_warnings=True).exists()
    WarningThreshold.objects.filter(consequence="download").update(is_active=False)
    warning_take_effect(member)
    assert not Ban.objects.filter(user=member, from_warnings=True,
                                  revoked_at__isnull=True).exists()


def test_a_staff_ban_is_never_lifted_by_the_points(moderator, member):
    staff_ban = Ban.objects.create(ban_type="download", user=member, reason="hnr",
                                   issued_by=moderator)
    _warn(moderator, member, 1)
    warning_take_effect(member)
    staff_ban.refresh_from_db()
    assert staff_ban.revoked_at is None


def test_expired_warnings_stop_counting_on_the_beat(moderator, member):
    warning = _warn(moderator, member, 6)
    assert Ban.objects.filter(user=member, from_warnings=True, revoked_at__isnull=True).exists()
    Warning.objects.filter(pk=warning.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert warnings_expire() == 1
    member.refresh_from_db()
    assert member.warning_points == 0
    assert not Ban.objects.filter(user=member, from_warnings=True,
                                  revoked_at__isnull=True).exists()
    assert warnings_expire() == 0  # nothing left to do


def test_system_warnings_need_no_actor(member):
    warning = warning_issue(actor=None, member=member, reason="Hit and run on X", points=1,
                            expires_at=None, source="hnr")
    assert warning.source == "hnr" and warning.issued_by is None
    member.refresh_from_db()
    assert member.warning_points == 1


@pytest.mark.parametrize("points", [0, -1, 101, "x", None, 10**20])
def test_bad_points_are_refused_with_a_field_error(moderator, member, points):
    with pytest.raises(ValidationFailed) as exc:
        _warn(moderator, member, points)
    assert exc.value.field == "points"
    assert not Warning.objects.exists()


def test_bad_reason_and_past_expiry_are_refused(moderator, member):
    with pytest.raises(ValidationFailed):
        _warn(moderator, member, 1, reason="   ")
    with pytest.raises(ValidationFailed):
        _warn(moderator, member, 1, reason="x" * 2001)
    with pytest.raises(ValidationFailed):
        _warn(moderator, member, 1, expires_at=timezone.now() - timedelta(minutes=1))


@pytest.mark.parametrize("persona", ["member", "uploader", "forum_moderator", "banned"])
def test_only_warners_may_warn(persona, member):
    actor = make_user(persona)
    with pytest.raises(NotPermitted):
        _warn(actor, member, 1)


def test_staff_cannot_warn_their_own_class_or_above(moderator, sysop):
    with pytest.raises(NotPermitted):
        _warn(moderator, make_user("moderator"), 1)
    with pytest.raises(NotPermitted):
        _warn(moderator, sysop, 1)


def test_warnings_are_private(moderator, member):
    _warn(moderator, member, 1)
    assert warnings_visible(member, member).count() == 1
    assert warnings_visible(moderator, member).count() == 1
    with pytest.raises(NotPermitted):
        warnings_visible(make_user("member"), member)
    with pytest.raises(NotPermitted):
        warnings_visible(make_user("forum_moderator"), member)


@pytest.mark.django_db(transaction=True)
def test_the_members_tabs_hear_of_a_warning_and_of_its_acknowledgement(member):
    moderator = make_user("moderator")
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(member.pk), channel)

    warning = _warn(moderator, member, 1)
    events = [async_to_sync(layer.receive)(channel) for _ in range(2)]
    banner = next(e for e in events if e["type"] == "live.event")["payload"]
    assert banner["kind"] == "warnings" and banner["points"] == 1
    assert [w["id"] for w in banner["unacknowledged"]] == [str(warning.id)]

    warning_acknowledge(member=member, warning_id=warning.id)
    event = async_to_sync(layer.receive)(channel)
    assert event["payload"]["unacknowledged"] == []
    assert warnings_unacknowledged(member.pk) == []


def test_nobody_acknowledges_another_members_warning(moderator, member):
    from domain.errors import NotFound

    warning = _warn(moderator, member, 1)
    with pytest.raises(NotFound):
        warning_acknowledge(member=make_user("member"), warning_id=warning.id)
    with pytest.raises(NotFound):
        warning_acknowledge(member=member, warning_id="not-a-uuid")
