"""Tags with votes, comments, edits and deletion."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from domain.catalog.models import Comment, Torrent, TorrentTag, TorrentTagAssignment
from domain.catalog.services import (
    comment_delete,
    comment_edit,
    comment_post,
    tag_normalize,
    torrent_delete,
    torrent_edit,
    torrent_tag_add,
    torrent_tag_vote,
)
from domain.community.models import Notification
from domain.errors import NotFound, NotPermitted, ValidationFailed
from domain.moderation.models import AuditLog
from domain.search.models import SearchIndexQueueItem
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("raw", "tag"), [
    ("Science Fiction", "science.fiction"), ("  1080P ", "1080p"), ("c++", "c++"),
    ("a__b  c", "a.b.c"), ("..Drama..", "drama"), ("héllo wörld", "hello.world"),
])
def test_tag_names_are_normalized(raw, tag):
    assert tag_normalize(raw) == tag


@pytest.mark.parametrize("raw", ["", "   ", "!!!", "..."])
def test_unusable_tags_are_refused(raw):
    with pytest.raises(ValidationFailed, match="not a usable tag"):
        tag_normalize(raw)


def test_tags_are_added_once_and_fall_off_below_the_threshold(uploader, settings):
    settings.TORRENT_TAG_REMOVE_SCORE = -2
    torrent = make_torrent(uploader=uploader)
    voters = [make_user("member") for _ in range(4)]

    first = torrent_tag_add(user=voters[0], torrent_id=torrent.pk, name="Science Fiction")
    again = torrent_tag_add(user=voters[1], torrent_id=torrent.pk, name="science.fiction")

    assert first.pk == again.pk
    assert TorrentTag.objects.get(name="science.fiction").usage_count == 1
    assert torrent_tag_vote(user=voters[1], assignment_id=first.pk, vote=-1) == 0
    assert torrent_tag_vote(user=voters[2], assignment_id=first.pk, vote=-1) == -1
    # A second vote by the same member replaces the first.
    assert torrent_tag_vote(user=voters[2], assignment_id=first.pk, vote=-1) == -1
    assert torrent_tag_vote(user=voters[0], assignment_id=first.pk, vote=-1) is None
    assert not TorrentTagAssignment.objects.filter(pk=first.pk).exists()
    assert TorrentTag.objects.get(name="science.fiction").usage_count == 0
    with pytest.raises(NotFound):
        torrent_tag_vote(user=voters[3], assignment_id=first.pk, vote=1)


def test_tag_votes_are_up_or_down_only(member, uploader):
    assignment = torrent_tag_add(user=member, torrent_id=make_torrent(uploader=uploader).pk,
                                 name="drama")
    with pytest.raises(ValidationFailed):
        torrent_tag_vote(user=member, assignment_id=assignment.pk, vote=5)


def test_comment_post_notifies_uploader_and_quote_notifies_quoted(uploader):
    torrent = make_torrent(uploader=uploader)
    alice, bob = make_user("member"), make_user("member")

    first = comment_post(author=alice, torrent_id=torrent.pk, body="Great <b>rip</b>")
    reply = comment_post(author=bob, torrent_id=torrent.pk, body="Agreed", quoted_id=first.pk)

    assert reply.quoted_id == first.pk
    assert Notification.objects.filter(user=uploader, kind="torrent_comment").count() == 2
    assert Notification.objects.filter(user=alice, kind="quote").count() == 1
    own = comment_post(author=uploader, torrent_id=torrent.pk, body="thanks")
    assert Notification.objects.filter(user=uploader).count() == 2
    assert own.target_type == "torrent" and own.target_id == torrent.pk


def test_comment_refusals(uploader, banned):
    torrent = make_torrent(uploader=uploader)
    with pytest.raises(ValidationFailed, match="Write something"):
        comment_post(author=uploader, torrent_id=torrent.pk, body="   ")
    with pytest.raises(ValidationFailed, match="65536"):
        comment_post(author=uploader, torrent_id=torrent.pk, body="x" * 65537)
    with pytest.raises(NotPermitted):
        comment_post(author=banned, torrent_id=torrent.pk, body="hi")
    pending = make_torrent(uploader=uploader, status="pending")
    with pytest.raises(NotFound):
        comment_post(author=make_user("member"), torrent_id=pending.pk, body="hi")
    assert Comment.objects.count() == 0


def test_edit_own_comment_only_and_staff_delete(uploader, member, moderator):
    torrent = make_torrent(uploader=uploader)
    comment = comment_post(author=member, torrent_id=torrent.pk, body="frist")

    edited = comment_edit(actor=member, comment_id=comment.pk, body="first")
    assert (edited.body, edited.edit_count) == ("first", 1)
    with pytest.raises(NotPermitted):
        comment_edit(actor=uploader, comment_id=comment.pk, body="hacked")
    with pytest.raises(NotPermitted):
        comment_delete(actor=member, comment_id=comment.pk)

    comment_delete(actor=moderator, comment_id=comment.pk)

    comment.refresh_from_db()
    assert comment.deleted_at is not None and comment.deleted_by_id == moderator.pk
    assert AuditLog.objects.filter(action="comment.delete", target_id=comment.pk).exists()


def test_uploader_edits_within_window_and_staff_any_time(uploader, moderator, settings):
    settings.TORRENT_EDIT_WINDOW_HOURS = 1
    torrent = make_torrent(uploader=uploader)
    cat, old_name = torrent.category_id, torrent.name

    torrent_edit(actor=uploader, torrent_id=torrent.pk, title="New Name", description="d",
                 category_id=cat, is_anonymous=True, metadata={"resolution": "2160p"})
    torrent.refresh_from_db()
    assert (torrent.name, torrent.is_anonymous) == ("New Name", True)
    assert torrent.metadata.resolution == "2160p"
    log = AuditLog.objects.get(action="torrent.edit", target_id=torrent.pk)
    assert log.changes["name"] == [old_name, "New Name"]
    assert SearchIndexQueueItem.objects.filter(target_id=torrent.pk, status="pending").exists()

    with pytest.raises(NotPermitted, match="Only staff"):
        torrent_edit(actor=uploader, torrent_id=torrent.pk, title="x", description="",
                     category_id=cat, is_anonymous=False, is_freeleech=True)
    Torrent.objects.filter(pk=torrent.pk).update(created_at=timezone.now() - timedelta(hours=2))
    with pytest.raises(NotPermitted, match="within 1 hours"):
        torrent_edit(actor=uploader, torrent_id=torrent.pk, title="Late", description="",
                     category_id=cat, is_anonymous=False)
    with pytest.raises(NotPermitted):
        torrent_edit(actor=make_user("member"), torrent_id=torrent.pk, title="x",
                     description="", category_id=cat, is_anonymous=False)

    torrent_edit(actor=moderator, torrent_id=torrent.pk, title="Staff", description="",
                 category_id=cat, is_anonymous=False, is_freeleech=True)
    torrent.refresh_from_db()
    assert torrent.is_freeleech and torrent.name == "Staff"


def test_delete_is_soft_audited_and_removes_from_search(uploader, moderator):
    torrent = make_torrent(uploader=uploader)
    with pytest.raises(ValidationFailed, match="reason"):
        torrent_delete(actor=moderator, torrent_id=torrent.pk, reason="")
    with pytest.raises(NotPermitted):
        torrent_delete(actor=make_user("member"), torrent_id=torrent.pk, reason="mine now")

    torrent_delete(actor=moderator, torrent_id=torrent.pk, reason="Dupe of an older upload")

    torrent.refresh_from_db()
    assert torrent.deleted_at is not None
    assert AuditLog.objects.get(action="torrent.delete").metadata["reason"] == (
        "Dupe of an older upload")
    assert SearchIndexQueueItem.objects.get(target_id=torrent.pk).operation == "delete"
    assert Notification.objects.filter(user=uploader, kind="moderation_decision").exists()
    with pytest.raises(NotFound):
        torrent_delete(actor=moderator, torrent_id=torrent.pk, reason="again")
