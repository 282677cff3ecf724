"""Appeals: once per action, into the queue as APPEAL; accepting undoes the action through
the same services (the tracker follows at once), denying needs a reason; member told."""

from __future__ import annotations

import pytest
from django.utils import timezone

from domain.community.models import Notification
from domain.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from domain.moderation.appeals import (
    appeal_decide,
    appeal_file,
    appeal_token,
    appeal_token_user,
    appealable_actions,
)
from domain.moderation.models import AuditLog, Ban, ModerationQueueItem, Warning
from domain.moderation.services import ban_issue
from domain.moderation.warnings import warning_issue
from tests.announce.factories import announce, failure, peer_id
from tests.domain.tracker.conftest import tracker_redis  # noqa: F401
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


def _warning(moderator, member, points=1):
    return warning_issue(actor=moderator, member=member, reason="Spam", points=points,
                         expires_at=None)


def test_a_warning_appeal_enters_the_queue_and_accepting_lifts_the_warning(moderator, member):
    warning = _warning(moderator, member, 2)
    appeal = appeal_file(appellant=member, target_type="warning", target_id=warning.pk,
                         text="It was a joke between friends")
    item = ModerationQueueItem.objects.get(target_id=warning.pk)
    assert item.source == "appeal" and item.status == "pending"
    warning.refresh_from_db()
    assert warning.appeal_status == "pending"
    with pytest.raises(Conflict):
        appeal_file(appellant=member, target_type="warning", target_id=warning.pk,
                    text="again")

    appeal_decide(actor=moderator, appeal_id=appeal.pk, accept=True, note="Fair enough")
    warning.refresh_from_db()
    member.refresh_from_db()
    item.refresh_from_db()
    assert warning.revoked_at is not None and warning.appeal_status == "accepted"
    assert member.warning_points == 0 and item.status == "approved"
    assert Notification.objects.filter(user=member, title="Your appeal was accepted").exists()
    assert AuditLog.objects.filter(action="appeal.accept", actor=moderator).exists()
    with pytest.raises(Conflict):
        appeal_decide(actor=moderator, appeal_id=appeal.pk, accept=False, note="no")


def test_an_accepted_ban_appeal_frees_the_member_at_the_tracker(
        moderator, member, django_capture_on_commit_callbacks):
    ih = bytes(make_torrent().info_hash_v1)
    with django_capture_on_commit_callbacks(execute=True):
        ban = ban_issue(actor=moderator, ban_type="account", user=member, reason="Cheating")
    assert failure(announce(member, ih, peer_id())).startswith("Your account is banned")
    member.refresh_from_db()
    user = appeal_token_user(appeal_token(member.pk))  # the banned page's link
    appeal = appeal_file(appellant=user, target_type="ban", target_id=ban.pk,
                         text="My brother used my account")
    with django_capture_on_commit_callbacks(execute=True):
        appeal_decide(actor=moderator, appeal_id=appeal.pk, accept=True)
    assert b"failure reason" not in announce(member, ih, peer_id())
    assert Ban.objects.get(pk=ban.pk).revoked_at is not None


def test_a_rejected_upload_appeal_accepted_approves_it(moderator, member):
    torrent = make_torrent(uploader=member, status="rejected")
    appeal = appeal_file(appellant=member, target_type="torrent", target_id=torrent.pk,
                         text="The files are fine, see the NFO")
    appeal_decide(actor=moderator, appeal_id=appeal.pk, accept=True)
    torrent.refresh_from_db()
    assert torrent.status == "approved"
    assert not ModerationQueueItem.objects.filter(target_id=torrent.pk,
                                                  status="pending").exists()


def test_denying_needs_a_reason_and_tells_the_member(moderator, member):
    warning = _warning(moderator, member)
    appeal = appeal_file(appellant=member, target_type="warning", target_id=warning.pk,
                         text="Not me")
    with pytest.raises(ValidationFailed):
        appeal_decide(actor=moderator, appeal_id=appeal.pk, accept=False, note=" ")
    appeal_decide(actor=moderator, appeal_id=appeal.pk, accept=False, note="Logs show it")
    warning.refresh_from_db()
    assert warning.revoked_at is None and warning.appeal_status == "rejected"
    assert Notification.objects.get(user=member, title="Your appeal was denied").body == \
        "Logs show it"


def test_only_ones_own_action_in_force_can_be_appealed(moderator, member):
    other = make_user("member")
    warning = _warning(moderator, other)
    with pytest.raises(NotFound):
        appeal_file(appellant=member, target_type="warning", target_id=warning.pk, text="x")
    approved = make_torrent(uploader=member)
    with pytest.raises(Conflict):
        appeal_file(appellant=member, target_type="torrent", target_id=approved.pk, text="x")
    lifted = _warning(moderator, member)
    Warning.objects.filter(pk=lifted.pk).update(revoked_at=timezone.now())
    with pytest.raises(Conflict):
        appeal_file(appellant=member, target_type="warning", target_id=lifted.pk, text="x")
    with pytest.raises(ValidationFailed):
        appeal_file(appellant=member, target_type="user", target_id=member.pk, text="x")
    with pytest.raises(ValidationFailed):
        appeal_file(appellant=member, target_type="warning", target_id=lifted.pk, text="")


def test_a_ban_from_warning_points_is_appealed_through_the_warnings(moderator, member):
    _warning(moderator, member, 5)
    ban = Ban.objects.get(user=member, from_warnings=True)
    with pytest.raises(ValidationFailed):
        appeal_file(appellant=member, target_type="ban", target_id=ban.pk, text="x")
    assert [a.target_type for a in appealable_actions(member)] == ["warning"]


@pytest.mark.parametrize("persona", ["member", "uploader", "forum_moderator", "banned"])
def test_only_staff_with_the_undoing_permission_decide(persona, moderator, member):
    warning = _warning(moderator, member)
    appeal = appeal_file(appellant=member, target_type="warning", target_id=warning.pk,
                         text="Please")
    with pytest.raises(NotPermitted):
        appeal_decide(actor=make_user(persona), appeal_id=appeal.pk, accept=True)


def test_forged_or_garbled_tokens_name_nobody(member):
    token = appeal_token(member.pk)
    for bad in [token[:-2] + "xx", "", "garbage", token + "a"]:
        with pytest.raises(NotFound):
            appeal_token_user(bad)
