"""Counters that move: each user_statistics row counter changes in the transaction of the
row it counts, the member's achievements are checked at once, the nightly recompute
corrects every row counter, and automatic promotion reaches every automatic class."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from domain.accounts.achievements import achievements_award_due_by_counters
from domain.accounts.models import User, UserAchievement, UserGroup, UserStatistics
from domain.accounts.services import group_auto_apply, invite_create
from domain.bonus.housekeeping import statistics_recompute
from domain.catalog.models import Torrent, TorrentCategory
from domain.catalog.requests import request_create, request_fill
from domain.catalog.services import (
    comment_delete,
    comment_post,
    torrent_delete,
    torrent_moderate,
    torrent_upload,
)
from domain.community import services as community
from domain.community.models import Forum, Notification
from tests.domain.bonus.factories import fund
from tests.domain.catalog.factories import libtorrent_make
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db
GIB = 1024**3
COUNTERS = ("uploads_count", "comments_count", "forum_posts_count", "requests_filled_count",
            "requests_voted_count", "invites_sent_count")


def counters(user: User) -> dict[str, int]:
    row = UserStatistics.objects.get(user=user)
    return {name: getattr(row, name) for name in COUNTERS}


def achievements(user: User) -> set[tuple[str, int]]:
    return set(UserAchievement.objects.filter(user=user).values_list("achievement", "tier"))


def upload(user: User, name: str) -> Torrent:
    return torrent_upload(uploader=user, data=libtorrent_make("v1", name=name),
                          category_id=TorrentCategory.objects.get(slug="movies-hd").pk)


def test_uploads_count_follows_approved_uploads(uploader, member, moderator):
    torrent_upload_auto = upload(uploader, "Auto.Approved.2024")
    assert counters(uploader)["uploads_count"] == 1
    # The first upload earns its achievement in the same transaction, with a notification.
    assert ("first-upload", 1) in achievements(uploader)
    assert Notification.objects.filter(user=uploader, kind="achievement").exists()

    pending = upload(member, "Needs.Review.2024")
    assert counters(member)["uploads_count"] == 0
    torrent_moderate(actor=moderator, torrent_id=pending.pk, approve=True)
    assert counters(member)["uploads_count"] == 1
    torrent_moderate(actor=moderator, torrent_id=pending.pk, approve=False,
                     reason="Fake")
    assert counters(member)["uploads_count"] == 0
    torrent_delete(actor=moderator, torrent_id=torrent_upload_auto.pk,
                   reason="Dupe")
    assert counters(uploader)["uploads_count"] == 0


def test_comments_and_forum_posts_count(member, moderator):
    torrent = make_torrent()
    comment = comment_post(author=member, torrent_id=torrent.pk, body="Thanks")
    assert counters(member)["comments_count"] == 1
    comment_delete(actor=moderator, comment_id=comment.pk)
    assert counters(member)["comments_count"] == 0

    general = Forum.objects.get(slug="general")
    topic = community.forum_topic_create(user=member, forum_id=general.id, title="Hello",
                                         body="First")
    post = community.forum_post_create(user=member, topic_id=topic.id, body="Second")
    assert counters(member)["forum_posts_count"] == 2
    assert ("forum-posts", 1) in achievements(member)
    community.forum_post_delete(actor=moderator, post_id=post.id)
    assert counters(member)["forum_posts_count"] == 1


def test_requests_and_invites_count(member):
    power = make_user("power_user")
    fund(member, 100)
    req = request_create(requester=member, category_id=TorrentCategory.objects.get(
        slug="movies-hd").pk, title="Something", bounty="100")
    request_fill(filler=power, request_id=req.pk, torrent=str(make_torrent().pk))
    invite_create(inviter=power, email="friend@example.test",
                  register_url="http://testserver/register/")

    assert counters(member)["requests_voted_count"] == 1
    assert counters(power)["requests_filled_count"] == 1
    assert counters(power)["invites_sent_count"] == 1


def test_a_counter_rolls_back_with_its_row(member):
    torrent = make_torrent()
    with pytest.raises(RuntimeError), transaction.atomic():
        comment_post(author=member, torrent_id=torrent.pk, body="Lost")
        assert counters(member)["comments_count"] == 1
        raise RuntimeError("the request failed after the comment")
    assert counters(member)["comments_count"] == 0


def test_a_decrement_stops_at_zero(member, moderator):
    comment = comment_post(author=member, torrent_id=make_torrent().pk, body="x")
    UserStatistics.objects.filter(user=member).update(comments_count=0)  # recount lowered it
    comment_delete(actor=moderator, comment_id=comment.pk)
    assert counters(member)["comments_count"] == 0


def test_the_nightly_recompute_corrects_every_row_counter(member, moderator):
    power = make_user("uploader")  # auto-approved uploads, and invites
    fund(member, 100)
    upload(power, "Counted.Upload.2024")
    comment_post(author=member, torrent_id=make_torrent().pk, body="Counted")
    community.forum_topic_create(user=member, forum_id=Forum.objects.get(slug="general").id,
                                 title="Counted", body="Counted")
    req = request_create(requester=member, category_id=TorrentCategory.objects.get(
        slug="movies-hd").pk, title="Counted", bounty="100")
    request_fill(filler=power, request_id=req.pk, torrent=str(make_torrent().pk))
    invite_create(inviter=power, email="f@example.test", register_url="http://t/register/")
    truth = {member.pk: counters(member), power.pk: counters(power)}
    assert truth[member.pk] == {"uploads_count": 0, "comments_count": 1,
                                "forum_posts_count": 1, "requests_filled_count": 0,
                                "requests_voted_count": 1, "invites_sent_count": 0}
    assert truth[power.pk] == {"uploads_count": 1, "comments_count": 0,
                               "forum_posts_count": 0, "requests_filled_count": 1,
                               "requests_voted_count": 0, "invites_sent_count": 1}
    # Drift: writes that bypassed the services (admin, SQL, a cascade).
    UserStatistics.objects.filter(user__in=[member, power]).update(
        uploads_count=7, comments_count=0, forum_posts_count=99, requests_filled_count=3,
        requests_voted_count=0, invites_sent_count=12)

    result = statistics_recompute()

    assert result.row_counters_fixed >= 2
    assert counters(member) == truth[member.pk] and counters(power) == truth[power.pk]
    assert statistics_recompute().row_counters_fixed == 0


def test_tracker_counter_achievements_are_awarded_by_the_beat_job(member):
    UserStatistics.objects.filter(user=member).update(uploaded=100 * GIB,
                                                      seedtime_seconds=86_400)
    assert achievements_award_due_by_counters() == 2
    assert {("upload-volume", 1), ("seeding-time", 1)} <= achievements(member)
    assert achievements_award_due_by_counters() == 0


def test_a_member_is_promoted_to_elite_through_real_uploads(member, moderator):
    """Elite needs 5 uploads (with 100 GiB uploaded, ratio 1.05 and 56 days): the uploads
    are real .torrent files through the upload service and moderation."""
    User.objects.filter(pk=member.pk).update(created_at=timezone.now() - timedelta(days=60))
    UserStatistics.objects.filter(user=member).update(uploaded=120 * GIB, downloaded=10 * GIB)
    for i in range(4):
        torrent_moderate(actor=moderator, torrent_id=upload(member, f"Release.{i}").pk,
                         approve=True)
    assert [name for _, _, name in group_auto_apply()] == ["power_user"]

    torrent_moderate(actor=moderator, torrent_id=upload(member, "Release.5").pk,
                     approve=True)
    assert [(old, new) for _, old, new in group_auto_apply()] == [("power_user", "elite")]

    member.refresh_from_db()
    assert member.group.name == "elite"
    assert Notification.objects.filter(user=member, kind="group_change",
                                       title="Promoted to Elite").exists()


@pytest.mark.parametrize("target", ["power_user", "elite", "torrent_master"])
def test_every_automatic_class_can_be_reached(target):
    group = UserGroup.objects.get(name=target)
    user = make_user()
    User.objects.filter(pk=user.pk).update(
        created_at=timezone.now() - timedelta(days=(group.min_account_age_days or 0) + 1))
    UserStatistics.objects.filter(user=user).update(uploaded=group.min_uploaded or 0,
                                                    downloaded=1)
    for i in range(group.min_uploads or 0):
        make_torrent(uploader=user, name=f"{target}.{i}")
    statistics_recompute()  # the uploads made by the factory are counted by the recount

    group_auto_apply()

    user.refresh_from_db()
    assert user.group.name == target
