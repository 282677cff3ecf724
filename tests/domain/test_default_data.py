"""The seed's default rows, loaded by data migrations: 13 groups, 8 + 20 categories,
7 forums, 5 chat rooms, 4 bonus rules (57 rows)."""

from __future__ import annotations

import itertools

import pytest

from domain.accounts.models import UserGroup
from domain.accounts.permissions import ALL_PERMS, Perm
from domain.bonus.models import BonusRule
from domain.catalog.models import TorrentCategory
from domain.community.models import ChatRoom, Forum
from tests.domain.seed import (
    SEED_BONUS_RULES,
    SEED_CHAT_ROOMS,
    SEED_DEFAULT_ROWS,
    SEED_FORUMS,
    SEED_GROUPS,
    SEED_MAIN_CATEGORIES,
    SEED_SUBCATEGORIES,
    SEED_SUBCATEGORY_COUNT,
)

pytestmark = pytest.mark.django_db


def test_thirteen_groups_in_rank_order():
    assert list(UserGroup.objects.order_by("rank").values_list("name", flat=True)) == SEED_GROUPS


def test_group_permissions_are_known_codes_and_grow_with_rank():
    groups = {g.name: g for g in UserGroup.objects.all()}
    for group in groups.values():
        assert set(group.permissions) <= ALL_PERMS, group.name
    assert groups["banned"].permissions == []
    assert groups["validating"].permissions == []
    assert set(groups["sysop"].permissions) == ALL_PERMS
    ladder = ["member", "power_user", "elite", "torrent_master", "vip", "forum_moderator",
              "moderator", "administrator", "sysop"]
    for lower, higher in itertools.pairwise(ladder):
        assert set(groups[lower].permissions) <= set(groups[higher].permissions), (lower, higher)
    assert Perm.DOWNLOAD in groups["member"].permissions
    assert Perm.UPLOAD_AUTO_APPROVE not in groups["member"].permissions
    assert Perm.UPLOAD_AUTO_APPROVE in groups["uploader"].permissions
    assert Perm.VIP_ACCESS in groups["vip"].permissions
    assert Perm.VIP_ACCESS not in groups["elite"].permissions


def test_staff_groups_are_marked_and_require_two_factor():
    staff = set(UserGroup.objects.filter(is_staff=True).values_list("name", flat=True))
    assert staff == {"forum_moderator", "moderator", "administrator", "sysop"}
    assert not UserGroup.objects.filter(is_staff=True, requires_2fa=False).exists()
    admin_access = set(UserGroup.objects.filter(permissions__contains=[Perm.ADMIN_ACCESS])
                       .values_list("name", flat=True))
    assert admin_access == {"moderator", "administrator", "sysop"}


def test_promotion_rules_are_data():
    auto = UserGroup.objects.filter(auto_promote=True).order_by("rank")
    assert [g.name for g in auto] == ["power_user", "elite", "torrent_master"]
    uploaded = [g.min_uploaded or 0 for g in auto]
    assert uploaded == sorted(uploaded) and all(uploaded)


def test_eight_categories_with_twenty_subcategories():
    mains = TorrentCategory.objects.filter(parent__isnull=True).order_by("sort_order")
    assert [c.name for c in mains] == SEED_MAIN_CATEGORIES
    assert TorrentCategory.objects.filter(parent__isnull=False).count() == SEED_SUBCATEGORY_COUNT
    for parent, subs in SEED_SUBCATEGORIES.items():
        names = set(TorrentCategory.objects.filter(parent__name=parent)
                    .values_list("name", flat=True))
        assert names == subs, parent
    # Two levels only.
    assert not TorrentCategory.objects.filter(parent__parent__isnull=False).exists()


def test_seven_forums_with_vip_and_staff_restricted():
    assert list(Forum.objects.order_by("sort_order").values_list("slug", flat=True)) == \
        SEED_FORUMS
    restricted = dict(Forum.objects.exclude(required_permission="")
                      .values_list("slug", "required_permission"))
    assert restricted == {"vip-lounge": Perm.VIP_ACCESS, "staff": Perm.STAFF_ACCESS}
    announcements = Forum.objects.get(slug="announcements")
    assert announcements.min_rank_create_topic > announcements.min_rank_read


def test_five_chat_rooms_with_vip_and_staff_restricted():
    assert list(ChatRoom.objects.order_by("sort_order").values_list("name", flat=True)) == \
        SEED_CHAT_ROOMS
    restricted = dict(ChatRoom.objects.exclude(required_permission="")
                      .values_list("name", "required_permission"))
    assert restricted == {"vip": Perm.VIP_ACCESS, "staff": Perm.STAFF_ACCESS}


def test_four_active_bonus_rules():
    rules = {r.name: r for r in BonusRule.objects.all()}
    assert set(rules) == SEED_BONUS_RULES
    assert all(r.is_active for r in rules.values())
    assert rules["low_seeder_bonus"].max_seeders == 5
    assert rules["freeleech_seeding"].requires_freeleech
    assert rules["large_file_bonus"].min_size_bytes == 10 * 1024**3
    assert rules["large_file_bonus"].max_points_per_hour is not None


def test_fifty_seven_default_rows_in_all():
    total = (UserGroup.objects.count() + TorrentCategory.objects.count() + Forum.objects.count()
             + ChatRoom.objects.count() + BonusRule.objects.count())
    assert total == SEED_DEFAULT_ROWS
