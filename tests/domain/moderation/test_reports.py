"""Reports: any member reports what they can see; repeated reports of one target merge with
a count; the staff feed hears of it; resolving tells every reporter; limits hold."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from domain.base import TargetType
from domain.community.models import ChatRoom, Forum, Notification
from domain.community.services import chat_message_post, forum_topic_create, pm_send
from domain.errors import Conflict, NotFound, RateLimited, ValidationFailed
from domain.events import MODERATION_GROUP
from domain.moderation.feed import moderation_feed_open, report_resolve
from domain.moderation.models import AuditLog, ModerationQueueItem, Report
from domain.moderation.reports import report_file, reports_of
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


def _post(author=None):
    forum = Forum.objects.get(slug="general")
    topic = forum_topic_create(user=author or make_user("member"), forum_id=forum.pk,
                               title="Hello", body="Rude words here")
    return topic.posts.get()


def test_a_report_is_stored_audited_and_shown_to_staff(member, moderator):
    post = _post()
    report = report_file(reporter=member, target_type="forum_post", target_id=post.pk,
                         reason="abuse", description="Insults")
    assert report.duplicate_of is None and report.report_count == 1
    assert report.evidence["author_id"] == str(post.author_id)
    assert AuditLog.objects.filter(action="report.file", actor=member,
                                   target_id=report.pk).exists()
    feed = moderation_feed_open(moderator)
    assert [r["id"] for r in feed["reports"]] == [str(report.pk)]
    assert feed["reports"][0]["label"].startswith("Forum post by")


def test_repeated_reports_merge_with_a_count_and_end_together(moderator):
    post = _post()
    first, second, third = (make_user("member") for _ in range(3))
    primary = report_file(reporter=first, target_type="forum_post", target_id=post.pk,
                          reason="spam")
    dup = report_file(reporter=second, target_type="forum_post", target_id=post.pk,
                      reason="abuse")
    report_file(reporter=third, target_type="forum_post", target_id=post.pk, reason="spam")
    primary.refresh_from_db()
    assert primary.report_count == 3 and dup.duplicate_of_id == primary.pk
    assert len(moderation_feed_open(moderator)["reports"]) == 1
    # Three reports reach the "many reports" rule: the post is flagged in the queue.
    item = ModerationQueueItem.objects.get(target_id=post.pk)
    assert [f["kind"] for f in item.flags] == ["report_count"]
    with pytest.raises(Conflict):
        report_file(reporter=second, target_type="forum_post", target_id=post.pk,
                    reason="spam")

    report_resolve(actor=moderator, report_id=primary.pk, dismiss=False, note="Post removed")
    dup.refresh_from_db()
    assert dup.status == "resolved" and dup.resolution_note == "Post removed"
    for reporter in (first, second, third):
        assert list(Notification.objects.filter(user=reporter).values_list("kind", "title")) \
            == [("report_outcome", "Your report was dealt with")]
        assert [r.status for r in reports_of(reporter)] == ["resolved"]
    # A new report after the first ended starts a new primary.
    again = report_file(reporter=first, target_type="forum_post", target_id=post.pk,
                        reason="spam")
    assert again.duplicate_of is None


@pytest.mark.parametrize("kind", ["torrent", "comment", "chat_message", "private_message",
                                  "request", "collection", "user", "forum_topic"])
def test_every_kind_of_target_can_be_reported(kind, member):
    from domain.catalog.models import Comment, TorrentCategory, TorrentCollection, TorrentRequest

    author = make_user("member")
    torrent = make_torrent(uploader=author)
    target = {
        "torrent": lambda: torrent,
        "comment": lambda: Comment.objects.create(target_type="torrent", target_id=torrent.pk,
                                                  author=author, body="bad"),
        "chat_message": lambda: chat_message_post(user=author, room_name="general",
                                                  body="hi all"),
        "private_message": lambda: pm_send(sender=author, recipient_username=member.username,
                                           subject="Hi", body="buy my stuff"),
        "request": lambda: TorrentRequest.objects.create(
            requester=author, title="Want X",
            category=TorrentCategory.objects.get(slug="movies-hd")),
        "collection": lambda: TorrentCollection.objects.create(name="Mine", owner=author),
        "user": lambda: author,
        "forum_topic": lambda: _post(author).topic,
    }[kind]()
    report = report_file(reporter=member, target_type=kind, target_id=target.pk,
                         reason="spam")
    assert report.target_type == kind
    assert report.evidence["author_id"] == str(author.pk)


def test_members_cannot_report_what_they_cannot_see(member):
    other = make_user("member")
    pm = pm_send(sender=make_user("member"), recipient_username=other.username,
                 subject="Hi", body="secret")
    staff_room = ChatRoom.objects.get(name="staff")
    from domain.community.models import ChatMessage

    staff_message = ChatMessage.objects.create(room=staff_room, user=make_user("moderator"),
                                               body="staff only")
    pending = make_torrent(status="pending", uploader=other)
    for kind, target_id in [("private_message", pm.pk), ("chat_message", staff_message.pk),
                            ("torrent", pending.pk), ("torrent", uuid.uuid4()),
                            ("forum_post", "not-a-uuid")]:
        with pytest.raises(NotFound):
            report_file(reporter=member, target_type=kind, target_id=target_id, reason="spam")
    assert not Report.objects.exists()


def test_a_comment_is_reported_only_by_who_can_see_what_it_is_under(member, moderator):
    """A comment's id alone does not make it reportable: under a pending torrent, a
    private collection or a deleted request (or torrent) it is as hidden as its page, and
    the answer is the same NotFound as for nothing at all; staff and the owner still may."""
    from domain.catalog.models import Comment, TorrentCategory, TorrentCollection, TorrentRequest
    from domain.moderation.targets import target_describe

    owner = make_user("member")
    pending = make_torrent(status="pending", uploader=owner)
    deleted = make_torrent(uploader=owner)
    private = TorrentCollection.objects.create(name="Mine", owner=owner, is_public=False)
    gone = TorrentRequest.objects.create(requester=owner, title="Want X",
                                         category=TorrentCategory.objects.get(slug="movies-hd"))

    def comment(target_type, target):
        return Comment.objects.create(target_type=target_type, target_id=target.pk,
                                      author=owner, body="a comment")

    hidden = [comment("torrent", pending), comment("collection", private),
              comment("request", gone), comment("torrent", deleted)]
    TorrentRequest.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    type(deleted).objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    for c in hidden:
        with pytest.raises(NotFound, match="nothing to report"):
            report_file(reporter=member, target_type="comment", target_id=c.pk, reason="spam")
    assert not Report.objects.exists()
    # Those who may open the page may report its comments.
    for c in hidden[:2]:
        report_file(reporter=moderator, target_type="comment", target_id=c.pk,
                    reason="spam")
    assert target_describe("comment", hidden[1].pk, viewer=owner).author_id == owner.pk
    assert target_describe("comment", hidden[2].pk).label == f"Comment by {owner.username}"
    visible = comment("torrent", make_torrent(uploader=owner))
    assert report_file(reporter=member, target_type="comment", target_id=visible.pk,
                       reason="spam").target_id == visible.pk


def test_bad_input_is_a_field_error(member):
    post = _post()
    cases = [({"target_type": "warning"}, "target_type"), ({"reason": "because"}, "reason"),
             ({"reason": "other", "description": ""}, "description"),
             ({"description": "x" * 5001}, "description")]
    for over, field in cases:
        args = {"target_type": "forum_post", "target_id": post.pk, "reason": "spam", **over}
        with pytest.raises(ValidationFailed) as exc:
            report_file(reporter=member, **args)
        assert exc.value.field == field
    with pytest.raises(ValidationFailed):
        report_file(reporter=member, target_type="user", target_id=member.pk, reason="spam")


def test_reports_are_rate_limited_per_member(member, settings):
    settings.REPORTS_PER_HOUR = 2
    targets = [make_user("member") for _ in range(3)]
    for target in targets[:2]:
        report_file(reporter=member, target_type="user", target_id=target.pk, reason="spam")
    with pytest.raises(RateLimited):
        report_file(reporter=member, target_type="user", target_id=targets[2].pk,
                    reason="spam")
    report_file(reporter=make_user("member"), target_type="user", target_id=targets[2].pk,
                reason="spam")  # another member's budget is their own


def test_banned_members_cannot_report():
    from domain.errors import NotPermitted

    with pytest.raises(NotPermitted):
        report_file(reporter=make_user("banned"), target_type="user",
                    target_id=make_user("member").pk, reason="spam")


@pytest.mark.django_db(transaction=True)
def test_filing_reaches_the_staff_feed_group_after_commit():
    member = make_user("member")
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(MODERATION_GROUP, channel)
    post = _post()
    # (creating the post published nothing to the moderation group)
    report = report_file(reporter=member, target_type=TargetType.FORUM_POST,
                         target_id=post.pk, reason="abuse", description="Insults")
    event = async_to_sync(layer.receive)(channel)
    assert event["type"] == "moderation.report"
    assert event["payload"]["id"] == str(report.pk)
    assert event["payload"]["report_count"] == 1 and event["payload"]["url"]
