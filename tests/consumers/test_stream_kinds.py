"""The stream kinds as one table (consumers/streams.py, issue 19.5): names parse by their
kind's rule, each kind names its group, and the torrent stream follows the catalog's own
visibility rule (torrents_visible)."""

from __future__ import annotations

import uuid

import pytest

from consumers import streams
from domain.catalog.selectors import torrents_visible
from domain.errors import NotFound
from domain.events import MODERATION_GROUP, chat_room_group, forum_topic_group, torrent_group
from tests.factories import make_torrent, make_user

TOPIC = "00000000-0000-4000-8000-000000000001"


def test_the_table_holds_every_documented_kind():
    assert set(streams.STREAM_KINDS) == {"notifications", "inbox", "chat", "forum",
                                         "torrent", "moderation"}


@pytest.mark.parametrize(("name", "parsed"), [
    ("notifications", ("notifications", "")),
    ("inbox", ("inbox", "")),
    ("moderation", ("moderation", "")),
    ("chat:general", ("chat", "general")),
    (f"forum:{TOPIC.upper()}", ("forum", TOPIC)),
    (f"torrent:{TOPIC}", ("torrent", TOPIC)),
    ("inbox:x", None),
    ("chat:", None),
    ("chat", None),
    ("forum:not-a-uuid", None),
    ("torrent:", None),
    ("member", None),  # delivered to every socket, never subscribed
    ("nonsense:1", None),
])
def test_stream_names_parse_by_their_kind(name, parsed):
    assert streams.parse(name) == parsed


def test_each_kind_names_its_group():
    group = {name: (kind.group(TOPIC) if kind.group else None)
             for name, kind in streams.STREAM_KINDS.items()}
    assert group == {"notifications": None, "inbox": None,
                     "chat": chat_room_group(TOPIC), "forum": forum_topic_group(TOPIC),
                     "torrent": torrent_group(TOPIC), "moderation": MODERATION_GROUP}


@pytest.mark.django_db
def test_the_torrent_stream_follows_the_catalogs_visibility_rule():
    uploader, other, moderator = make_user("member"), make_user("member"), make_user(
        "moderator")
    pending = make_torrent(uploader=uploader, status="pending")
    approved = make_torrent(status="approved")
    authorize = streams.STREAM_KINDS["torrent"].authorize
    for user in (uploader, other, moderator):
        for torrent in (pending, approved):
            visible = torrents_visible(user).filter(pk=torrent.pk).exists()
            if visible:
                assert authorize(user, str(torrent.pk)) == {"torrent_id": str(torrent.pk)}
            else:
                with pytest.raises(NotFound):
                    authorize(user, str(torrent.pk))
    with pytest.raises(NotFound):
        authorize(other, str(pending.pk))
    with pytest.raises(NotFound):
        authorize(make_user("banned"), str(approved.pk))
    with pytest.raises(NotFound):
        authorize(other, str(uuid.uuid4()))
