"""Paranoia per persona, automatic class changes, achievements."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from domain.accounts.achievements import achievements_check
from domain.accounts.models import UserAchievement, UserPrivacy, UserStatistics
from domain.accounts.selectors import (
    ALL_VISIBLE,
    invite_tree,
    profile_for_viewer,
    profile_visible_fields,
)
from domain.accounts.services import group_auto_apply, user_group_set
from domain.community.models import Notification
from domain.errors import NotFound, NotPermitted
from domain.moderation.models import AuditLog
from tests.domain.accounts.factories import group, make_persona

pytestmark = pytest.mark.django_db
GIB = 1024**3


def _hide(member, *names):
    UserPrivacy.objects.filter(user=member).update(**{n: False for n in names})
    member.refresh_from_db()
    return member


@pytest.mark.parametrize("setting", UserPrivacy.SETTINGS)
def test_each_setting_hides_from_members_but_not_from_self_or_staff(setting, member,
                                                                    uploader, moderator):
    _hide(member, setting)

    assert setting not in profile_visible_fields(uploader, member)
    assert profile_visible_fields(uploader, member) == ALL_VISIBLE - {setting}
    assert profile_visible_fields(member, member) == ALL_VISIBLE
    assert profile_visible_fields(moderator, member) == ALL_VISIBLE


def test_outsiders_and_refused_accounts_see_nothing(member, banned):
    assert profile_visible_fields(AnonymousUser(), member) == frozenset()
    assert profile_visible_fields(banned, member) == frozenset()
    assert profile_visible_fields(make_persona("validating"), member) == frozenset()


def test_forum_moderators_without_the_permission_respect_paranoia(member):
    forum_mod = make_persona("forum_moderator")
    _hide(member, "show_ratio")
    assert "show_ratio" not in profile_visible_fields(forum_mod, member)


def test_profile_view_never_carries_a_hidden_value(member, uploader, sysop):
    UserStatistics.objects.filter(user=member).update(uploaded=5 * GIB, downloaded=GIB,
                                                      seeding_count=7)
    _hide(member, "show_uploaded", "show_ratio", "show_seeding", "show_last_seen")

    seen = profile_for_viewer(uploader, member.username)
    staff = profile_for_viewer(sysop, member.username)

    assert seen.stats["uploaded"] is None and seen.stats["ratio"] is None
    assert seen.stats["seeding_count"] is None and seen.stats["seeding_size"] is None
    assert seen.stats["downloaded"] == GIB
    assert staff.stats["uploaded"] == 5 * GIB and staff.stats["ratio"] == 5.0
    assert staff.sees_private and not seen.sees_private


def test_banned_and_validating_profiles_are_hidden_from_members(member, banned, moderator):
    with pytest.raises(NotFound):
        profile_for_viewer(member, banned.username)
    assert profile_for_viewer(moderator, banned.username).member == banned


def test_invite_tree_walks_generations(member):
    child = make_persona("member", invited_by=member)
    grandchild = make_persona("member", invited_by=child)
    other = make_persona("member", invited_by=member)
    tree = invite_tree(member)
    assert [(d, u.pk) for d, u in tree] in (
        [(1, child.pk), (2, grandchild.pk), (1, other.pk)],
        [(1, other.pk), (1, child.pk), (2, grandchild.pk)],
    )


def _age(user, days):
    type(user).objects.filter(pk=user.pk).update(
        created_at=timezone.now() - timedelta(days=days))


def test_auto_promotion_and_demotion_follow_the_rules_and_are_audited(member):
    _age(member, 60)
    UserStatistics.objects.filter(user=member).update(uploaded=120 * GIB, downloaded=GIB,
                                                      uploads_count=6)
    changes = group_auto_apply()

    member.refresh_from_db()
    assert member.group.name == "elite"
    assert (member.pk, "member", "elite") in changes
    assert group_auto_apply() == []  # nothing left to do
    audit = AuditLog.objects.get(action="user.group_change", target_id=member.pk)
    assert audit.changes == {"group": ["member", "elite"]} and audit.actor is None
    note = Notification.objects.get(user=member, kind="group_change")
    assert "Elite" in note.title

    UserStatistics.objects.filter(user=member).update(downloaded=200 * GIB)  # ratio 0.6
    group_auto_apply()
    member.refresh_from_db()
    assert member.group.name == "member"
    assert Notification.objects.filter(user=member, kind="group_change").count() == 2


def test_auto_rules_never_touch_hand_assigned_classes(uploader, moderator):
    before = {u.pk: u.group_id for u in (uploader, moderator)}
    group_auto_apply()
    for user in (uploader, moderator):
        user.refresh_from_db()
        assert user.group_id == before[user.pk]


def test_staff_class_change_is_audited_and_bounded_by_rank(member, moderator, sysop):
    with pytest.raises(NotPermitted):
        user_group_set(actor=moderator, user=member, group=group("vip"))  # no USERS_EDIT
    user_group_set(actor=sysop, user=member, group=group("vip"), reason="Great uploads")
    member.refresh_from_db()
    assert member.group.name == "vip"
    audit = AuditLog.objects.get(action="user.group_change", target_id=member.pk)
    assert audit.actor == sysop and audit.metadata["reason"] == "Great uploads"


def test_achievements_are_awarded_once_and_notified(member):
    UserStatistics.objects.filter(user=member).update(uploads_count=12, forum_posts_count=1)

    first = achievements_check(user_id=member.pk)
    again = achievements_check(user_id=member.pk)

    assert {(a.achievement, a.tier) for a in first} == {
        ("first-upload", 1), ("uploads", 1), ("forum-posts", 1)}
    assert again == []
    assert UserAchievement.objects.filter(user=member).count() == 3
    assert Notification.objects.filter(user=member, kind="achievement").count() == 3


def test_account_age_achievement(member):
    _age(member, 400)
    awarded = achievements_check(user_id=member.pk)
    assert [(a.achievement, a.tier) for a in awarded] == [("account-age", 1)]


def test_account_age_achievements_come_due_without_any_counter_change(member, uploader):
    from domain.accounts.achievements import achievements_award_due_by_age

    _age(member, 400)
    assert achievements_award_due_by_age() == 1
    assert achievements_award_due_by_age() == 0
    assert UserAchievement.objects.filter(user=member, achievement="account-age").count() == 1
    assert not UserAchievement.objects.filter(user=uploader).exists()
