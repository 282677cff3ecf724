"""Auto-flag rules: each kind puts the right item into the queue with its flag, through the
service where the thing happens; rules are data (switched off, the flag stops)."""

from __future__ import annotations

import uuid

import pytest

from domain.base import TargetType
from domain.catalog.models import TorrentCategory
from domain.catalog.services import torrent_upload
from domain.community.models import ChatRoom, Forum
from domain.community.services import (
    chat_message_edit,
    chat_message_post,
    forum_post_create,
    forum_post_edit,
    forum_topic_create,
)
from domain.errors import ValidationFailed
from domain.moderation.autoflag import (
    autoflag_parameters_clean,
    autoflag_raise,
    autoflag_reports,
    rules_forget,
)
from domain.moderation.models import AutoFlagRule, ModerationQueueItem
from tests.domain.catalog.factories import libtorrent_make
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _upload(user, name="Some.Release.2024.1080p-GRP", description=""):
    category = TorrentCategory.objects.get(slug="movies-hd").pk
    return torrent_upload(uploader=user, data=libtorrent_make("v1", name=name),
                          category_id=category, description=description)


def _flags(target_id):
    item = ModerationQueueItem.objects.get(target_id=target_id)
    return item, [f["kind"] for f in item.flags]


def _only(kind):
    """Leave only the rules of `kind` active, so one test sees one rule's effect."""
    AutoFlagRule.objects.exclude(kind=kind).update(is_active=False)
    rules_forget()


def test_a_new_uploaders_first_uploads_are_flagged_then_no_longer():
    _only("first_uploads")
    AutoFlagRule.objects.filter(kind="first_uploads").update(parameters={"uploads": 2})
    rules_forget()
    uploader = make_user("uploader")  # auto-approved: no new-upload item of its own
    first, second, third = (_upload(uploader, name=f"Release.{n}") for n in range(3))
    item, kinds = _flags(first.pk)
    assert item.source == "auto_flag" and kinds == ["first_uploads"]
    assert _flags(second.pk)[1] == ["first_uploads"]
    assert not ModerationQueueItem.objects.filter(target_id=third.pk).exists()


def test_a_flag_on_a_pending_upload_joins_its_queue_item():
    _only("first_uploads")
    member = make_user("member")  # not auto-approved: the upload waits in the queue
    torrent = _upload(member)
    item, kinds = _flags(torrent.pk)
    assert item.source == "new_upload" and kinds == ["first_uploads"]
    assert item.flag_score == pytest.approx(0.4)


def test_a_name_matching_a_banned_pattern_is_flagged():
    _only("name_pattern")
    uploader = make_user("uploader")
    flagged = _upload(uploader, name="Great.App.v2.KEYGEN")
    clean = _upload(uploader, name="Great.App.v2")
    item, kinds = _flags(flagged.pk)
    assert kinds == ["name_pattern"] and "KEYGEN" in item.flags[0]["detail"]
    assert not ModerationQueueItem.objects.filter(target_id=clean.pk).exists()


def test_a_description_with_many_links_is_flagged():
    _only("description_links")
    uploader = make_user("uploader")
    links = " ".join(f"https://mirror{n}.example/file" for n in range(9))
    flagged = _upload(uploader, name="A", description=links)
    fine = _upload(uploader, name="B", description=" ".join(links.split()[:8]))
    assert _flags(flagged.pk)[1] == ["description_links"]
    assert not ModerationQueueItem.objects.filter(target_id=fine.pk).exists()


def test_chat_and_forum_text_matching_the_word_list_is_flagged():
    _only("word_list")
    member = make_user("member")
    message = chat_message_post(user=member, room_name="general",
                                body="Get FREE BITCOIN here")
    assert _flags(message.pk)[1] == ["word_list"]
    clean = chat_message_post(user=make_user("member"), room_name="general",
                              body="freebitcoins is one word")
    assert not ModerationQueueItem.objects.filter(target_id=clean.pk).exists()
    forum = Forum.objects.get(slug="general")
    topic = forum_topic_create(user=make_user("member"), forum_id=forum.pk, title="Hello",
                               body="All fine here")
    post = forum_post_create(user=make_user("member"), topic_id=topic.pk,
                             body="buy cheap followers now")
    assert _flags(post.pk)[1] == ["word_list"]
    assert ModerationQueueItem.objects.count() == 2
    assert ChatRoom.objects.filter(name="general").exists()


def test_edited_chat_messages_and_forum_posts_go_through_the_word_list(moderator):
    """An edit is new text: a clean message or post edited to hold a listed word is flagged
    (the author answers for it), as comment edits are; an edit that stays clean is not."""
    _only("word_list")
    author = make_user("member")
    message = chat_message_post(user=author, room_name="general", body="hello all")
    chat_message_edit(user=author, message_id=message.pk, body="hello all, still clean")
    assert not ModerationQueueItem.objects.filter(target_id=message.pk).exists()
    chat_message_edit(user=author, message_id=message.pk, body="now: free bitcoin")
    item, kinds = _flags(message.pk)
    assert (item.target_type, kinds, item.submitted_by_id) == ("chat_message", ["word_list"],
                                                               author.pk)

    forum = Forum.objects.get(slug="general")
    topic = forum_topic_create(user=make_user("member"), forum_id=forum.pk, title="Hi",
                               body="All fine here")
    post = forum_post_create(user=author, topic_id=topic.pk, body="a clean reply")
    assert not ModerationQueueItem.objects.filter(target_id=post.pk).exists()
    forum_post_edit(user=author, post_id=post.pk, body="buy cheap followers now")
    item, kinds = _flags(post.pk)
    assert (item.target_type, kinds, item.submitted_by_id) == ("forum_post", ["word_list"],
                                                               author.pk)
    # A moderator's edit that keeps the words is checked too, and answers to the author:
    # the open item is the same one (one per target), not a second.
    first = topic.posts.order_by("created_at")[0]
    forum_post_edit(user=moderator, post_id=first.pk, body="cheap followers, says the mod")
    item, kinds = _flags(first.pk)
    assert kinds == ["word_list"] and item.submitted_by_id == topic.author_id
    forum_post_edit(user=author, post_id=post.pk, body="cheap  FOLLOWERS again")
    assert ModerationQueueItem.objects.filter(target_id=post.pk).count() == 1


@pytest.mark.parametrize(("text", "flagged"), [
    ("free bitcoin", True),
    ("FREE BITCOIN", True),
    ("Free   Bitcoin", True),
    ("free\n\tbitcoin", True),
    ("free\u00a0bitcoin", True),  # a no-break space
    ("free\u200bbitcoin", True),  # a zero-width space
    ("free.bitcoin", True),
    ("free-bitcoin!", True),
    ("free, bitcoin", True),
    ("free_bitcoin", True),
    ("free / bitcoin", True),
    ("(free... bitcoin)", True),
    ("freebitcoin", False),  # one word is another word
    ("carefree bitcoins", False),  # inside longer words
    ("free the bitcoin", False),  # another word between
])
def test_word_list_entries_match_across_spacing_case_and_punctuation(text, flagged):
    AutoFlagRule.objects.update(is_active=False)
    AutoFlagRule.objects.create(name="Spam words", kind="word_list", score=0.5, priority=1,
                                parameters={"words": ["free bitcoin", "c++"]})
    rules_forget()
    message = chat_message_post(user=make_user("member"), room_name="general", body=text)
    assert ModerationQueueItem.objects.filter(target_id=message.pk).exists() is flagged


def test_a_word_list_entry_with_other_characters_is_literal():
    """Only spaces and simple punctuation separate words: "c++" is itself, not "c"."""
    AutoFlagRule.objects.update(is_active=False)
    AutoFlagRule.objects.create(name="Lang", kind="word_list", score=0.5, priority=1,
                                parameters={"words": ["c++", "  "]})
    rules_forget()
    member = make_user("member")
    hit = chat_message_post(user=member, room_name="general", body="I write C++ daily")
    miss = chat_message_post(user=make_user("member"), room_name="general", body="plan c")
    assert ModerationQueueItem.objects.filter(target_id=hit.pk).exists()
    assert not ModerationQueueItem.objects.filter(target_id=miss.pk).exists()


def test_comments_on_torrents_requests_and_collections_go_through_the_word_list(settings):
    """A word-list rule made as data for comments only: new and edited comments under a
    torrent, a request and a collection are flagged; chat is not (not among its targets)."""
    from domain.catalog.collections import collection_comment_post, collection_create
    from domain.catalog.requests import request_comment_post, request_create
    from domain.catalog.services import comment_edit, comment_post
    from tests.domain.bonus.factories import fund
    from tests.factories import make_torrent

    AutoFlagRule.objects.update(is_active=False)
    AutoFlagRule.objects.create(name="Comment spam", kind="word_list", score=0.7, priority=1,
                                parameters={"words": ["casino bonus"], "targets": ["comment"]})
    rules_forget()
    settings.REQUEST_MIN_BOUNTY = "100"
    author = make_user("power_user")
    fund(author, 100)
    request = request_create(requester=author, title="Alien", bounty="100",
                             category_id=TorrentCategory.objects.get(slug="movies-hd").pk)
    collection = collection_create(owner=author, name="Hitchcock")
    on_torrent = comment_post(author=author, torrent_id=make_torrent().pk,
                              body="Best CASINO BONUS here")
    on_request = request_comment_post(author=author, request_id=request.pk,
                                      body="casino bonus!")
    on_collection = collection_comment_post(author=author, collection_id=collection.pk,
                                            body="see Casino Bonus")
    clean = collection_comment_post(author=author, collection_id=collection.pk,
                                    body="casinobonus is one word")
    for comment in (on_torrent, on_request, on_collection):
        item, kinds = _flags(comment.pk)
        assert (item.target_type, item.source, kinds) == ("comment", "auto_flag",
                                                          ["word_list"])
        assert item.submitted_by_id == author.pk and item.priority == 1
    assert not ModerationQueueItem.objects.filter(target_id=clean.pk).exists()
    comment_edit(actor=author, comment_id=clean.pk, body="now a casino bonus")
    assert _flags(clean.pk)[1] == ["word_list"]
    message = chat_message_post(user=author, room_name="general", body="casino bonus")
    assert not ModerationQueueItem.objects.filter(target_id=message.pk).exists()


def test_the_default_word_list_covers_comments():
    rule = AutoFlagRule.objects.get(kind="word_list")
    assert rule.parameters["targets"] == ["chat_message", "forum_post", "comment"]


def test_many_reports_on_one_target_flag_it():
    _only("report_count")
    target = uuid.uuid4()
    assert autoflag_reports(target_type=TargetType.TORRENT, target_id=target, count=2) == []
    assert autoflag_reports(target_type=TargetType.TORRENT, target_id=target, count=3)
    item, kinds = _flags(target)
    assert kinds == ["report_count"] and item.priority == 2
    autoflag_reports(target_type=TargetType.TORRENT, target_id=target, count=4)
    assert len(ModerationQueueItem.objects.get(target_id=target).flags) == 1  # once a rule


def test_implausible_transfer_figures_are_flagged_on_the_member():
    _only("transfer_implausible")
    member = make_user("member")
    autoflag_raise(kind="transfer_implausible", target_type="user", target_id=member.pk,
                   summary=f"{member.username} claimed 5 TiB in 30 s", detail="capped")
    item, kinds = _flags(member.pk)
    assert item.target_type == "user" and kinds == ["transfer_implausible"]


def test_a_rule_switched_off_flags_nothing():
    AutoFlagRule.objects.update(is_active=False)
    rules_forget()
    uploader = make_user("uploader")
    torrent = _upload(uploader, name="Great.App.KEYGEN")
    assert not ModerationQueueItem.objects.filter(target_id=torrent.pk).exists()
    assert autoflag_raise(kind="transfer_implausible", target_type="user",
                          target_id=uploader.pk, summary="x") is None


@pytest.mark.parametrize(("kind", "parameters"), [
    ("first_uploads", {}),
    ("first_uploads", {"uploads": 0}),
    ("first_uploads", {"uploads": True}),
    ("first_uploads", {"uploads": 3, "extra": 1}),
    ("name_pattern", {"patterns": ["(unclosed"]}),
    ("name_pattern", {"patterns": "keygen"}),
    ("name_pattern", {"patterns": ["x" * 201]}),
    ("word_list", {"words": [""]}),
    ("word_list", {"words": ["a"], "targets": ["torrent"]}),
    ("description_links", {"max_links": "8"}),
    ("nonsense", {}),
])
def test_bad_parameters_are_refused(kind, parameters):
    with pytest.raises(ValidationFailed):
        autoflag_parameters_clean(kind, parameters)
