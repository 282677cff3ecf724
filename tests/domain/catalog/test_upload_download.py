"""Upload, moderation and download through the services, with real libtorrent files."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import bencodepy
import pytest
from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.utils import timezone

from domain.catalog.models import (
    Torrent,
    TorrentFile,
    TorrentMetadata,
    TorrentModeration,
    TorrentPieceLayers,
)
from domain.catalog.services import (
    torrent_download,
    torrent_moderate,
    torrent_upload,
)
from domain.catalog.torrentfile import TorrentFileInvalid
from domain.community.models import Notification
from domain.errors import NotFound, NotPermitted, ValidationFailed
from domain.events import MODERATION_GROUP, user_group
from domain.moderation.models import AuditLog, Ban, ModerationQueueItem
from domain.search.models import SearchIndexQueueItem
from domain.tracker.models import TorrentStatistics
from tests.domain.catalog.factories import libtorrent_hashes, libtorrent_make
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _category_id():
    from domain.catalog.models import TorrentCategory

    return TorrentCategory.objects.get(slug="movies-hd").pk


def upload(user, data, **kw):
    return torrent_upload(uploader=user, data=data, category_id=_category_id(), **kw)


def _listen(group):
    # A layer of our own: the shared one keeps per-event-loop locks from earlier tests.
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)

    async def receive():
        return await asyncio.wait_for(layer.receive(channel), timeout=10)

    return async_to_sync(receive)


@pytest.mark.parametrize("version", ["v1", "v2", "hybrid"])
def test_upload_by_uploader_is_approved_and_stores_everything(uploader, version):
    raw = libtorrent_make(version, files={"disc/movie.mkv": 90_000, "movie.nfo": 500})

    torrent = upload(uploader, raw, title="Movie 2024", description="A film",
                     metadata={"resolution": "1080p", "imdb_id": "tt0123456", "tmdb_id": 42},
                     tags=["Science Fiction", "1080p"])

    torrent.refresh_from_db()
    v1, v2 = libtorrent_hashes(raw)
    assert torrent.status == "approved"
    assert torrent.version == version
    assert (torrent.info_hash_v1 and bytes(torrent.info_hash_v1)) == (v1 or None)
    assert (torrent.info_hash_v2 and bytes(torrent.info_hash_v2)) == (v2 or None)
    assert bytes(torrent.info_dict) in raw
    assert sorted(TorrentFile.objects.filter(torrent=torrent).values_list("path", "size")) == [
        ("disc/movie.mkv", 90_000), ("movie.nfo", 500)]
    assert torrent.size == 90_500 and torrent.file_count == 2
    assert TorrentMetadata.objects.get(torrent=torrent).imdb_id == "tt0123456"
    assert sorted(torrent.tag_assignments.values_list("tag__name", flat=True)) == [
        "1080p", "science.fiction"]
    assert TorrentModeration.objects.get(torrent=torrent).status == "approved"
    assert TorrentStatistics.objects.filter(torrent=torrent).exists()
    assert TorrentPieceLayers.objects.filter(torrent=torrent).exists() == (version != "v1")
    assert SearchIndexQueueItem.objects.filter(target_id=torrent.pk, status="pending").count() == 1
    # No approval waits; a new uploader's first uploads are flagged for a look (auto-flag).
    assert not ModerationQueueItem.objects.filter(target_id=torrent.pk,
                                                  source="new_upload").exists()


@pytest.mark.django_db(transaction=True)
def test_member_upload_waits_in_the_moderation_queue_and_staff_are_told():
    member = make_user("member")
    receive = _listen(MODERATION_GROUP)

    torrent = upload(member, libtorrent_make("v1"))

    assert torrent.status == "pending"
    item = ModerationQueueItem.objects.get(target_type="torrent", target_id=torrent.pk)
    assert (item.source, item.status, item.submitted_by_id) == ("new_upload", "pending",
                                                                member.pk)
    event = receive()
    assert event["type"] == "moderation.item"
    assert event["payload"]["target_id"] == str(torrent.pk)


def test_duplicate_info_hash_is_refused(uploader):
    raw = libtorrent_make("hybrid")
    upload(uploader, raw)
    # Same info dict, different announce: still the same torrent.
    meta = bencodepy.decode(raw)
    meta[b"announce"] = b"http://elsewhere/announce"
    with pytest.raises(TorrentFileInvalid, match="already on the site"):
        upload(make_user("uploader"), bencodepy.encode(meta))
    assert Torrent.objects.count() == 1


def test_upload_ban_and_missing_permission_are_refused(member, banned):
    Ban.objects.create(ban_type="upload", user=member, reason="spam")
    with pytest.raises(NotPermitted, match="banned from uploading"):
        upload(member, libtorrent_make("v1"))
    with pytest.raises(NotPermitted):
        upload(banned, libtorrent_make("v1"))
    assert Torrent.objects.count() == 0


def test_failed_upload_leaves_no_rows(uploader):
    with pytest.raises(ValidationFailed):
        torrent_upload(uploader=uploader, data=libtorrent_make("v1"), category_id=999_999)
    with pytest.raises(ValidationFailed):
        upload(uploader, libtorrent_make("v1"), tags=["ok", "!!!"])
    assert Torrent.objects.count() == 0
    assert TorrentFile.objects.count() == 0
    assert SearchIndexQueueItem.objects.count() == 0


@pytest.mark.parametrize("version", ["v1", "v2", "hybrid"])
def test_download_has_the_members_passkey_and_the_uploaded_hashes(uploader, member, version,
                                                                  settings):
    settings.SITE_URL = "https://t.example.test"
    raw = libtorrent_make(version)
    torrent = upload(uploader, raw)

    download = torrent_download(user=member, torrent_id=torrent.pk)

    assert libtorrent_hashes(download.content) == libtorrent_hashes(raw)
    meta = bencodepy.decode(download.content)
    assert meta[b"announce"] == f"https://t.example.test/announce/{member.passkey}".encode()
    assert download.filename.endswith(".torrent")


def test_download_refusals(uploader, member, banned):
    torrent = upload(uploader, libtorrent_make("v1"))
    Ban.objects.create(ban_type="download", user=member, reason="hit and run")
    with pytest.raises(NotPermitted, match="banned from downloading"):
        torrent_download(user=member, torrent_id=torrent.pk)
    with pytest.raises(NotPermitted, match="not active"):
        torrent_download(user=banned, torrent_id=torrent.pk)
    validating = make_user("member", status="validating")
    with pytest.raises(NotPermitted):
        torrent_download(user=validating, torrent_id=torrent.pk)
    no_download = make_user("member")
    no_download.group.permissions = [p for p in no_download.group.permissions
                                     if p != "download"]
    no_download.group.save()
    with pytest.raises(NotPermitted, match="may not download"):
        torrent_download(user=no_download, torrent_id=torrent.pk)


def test_pending_and_rejected_torrents_download_only_for_uploader_and_staff(moderator):
    member = make_user("member")
    other = make_user("member")
    torrent = upload(member, libtorrent_make("v1"))

    assert torrent_download(user=member, torrent_id=torrent.pk).content
    assert torrent_download(user=moderator, torrent_id=torrent.pk).content
    with pytest.raises(NotFound):
        torrent_download(user=other, torrent_id=torrent.pk)
    torrent_moderate(actor=moderator, torrent_id=torrent.pk, approve=True)
    assert torrent_download(user=other, torrent_id=torrent.pk).content


def test_approval_is_audited_tells_the_uploader_and_drops_tracker_cache(
        moderator, django_capture_on_commit_callbacks, monkeypatch):
    import domain.catalog.services as services

    member = make_user("member")
    torrent = upload(member, libtorrent_make("hybrid"))
    # A spy around the tracker's own invalidation (its cache layout is the tracker's).
    calls: list[tuple[uuid.UUID | str, dict[str, Any]]] = []
    real = services.invalidate_torrent

    def spy(tid: uuid.UUID | str, **kw: Any) -> None:
        calls.append((tid, kw))
        real(tid, **kw)

    monkeypatch.setattr(services, "invalidate_torrent", spy)

    with django_capture_on_commit_callbacks(execute=True):
        torrent_moderate(actor=moderator, torrent_id=torrent.pk, approve=True,
                         ip_address="10.0.0.1")

    torrent.refresh_from_db()
    assert torrent.status == "approved"
    assert calls == [(torrent.pk, {"info_hashes": (bytes(torrent.info_hash_v1),
                                                   bytes(torrent.info_hash_v2))})]
    log = AuditLog.objects.get(action="torrent.approve", target_id=torrent.pk)
    assert log.actor_id == moderator.pk and log.changes == {"status": ["pending", "approved"]}
    note = Notification.objects.get(user=member, kind="moderation_decision")
    assert "approved" in note.title
    item = ModerationQueueItem.objects.get(target_id=torrent.pk)
    assert (item.status, item.resolved_by_id) == ("approved", moderator.pk)


@pytest.mark.django_db(transaction=True)
def test_rejection_needs_a_reason_and_the_uploader_gets_it_live():
    moderator = make_user("moderator")
    member = make_user("member")
    torrent = upload(member, libtorrent_make("v1"))
    receive = _listen(user_group(member.pk))

    with pytest.raises(ValidationFailed, match="reason"):
        torrent_moderate(actor=moderator, torrent_id=torrent.pk, approve=False, reason=" ")
    torrent_moderate(actor=moderator, torrent_id=torrent.pk, approve=False,
                     reason="Wrong category")

    assert Torrent.objects.get(pk=torrent.pk).status == "rejected"
    assert TorrentModeration.objects.get(torrent=torrent).reason == "Wrong category"
    event = receive()
    assert event["type"] == "notification.new"
    assert event["payload"]["body"] == "Wrong category"


def test_only_moderators_moderate(uploader):
    member = make_user("member")
    torrent = upload(member, libtorrent_make("v1"))
    with pytest.raises(NotPermitted):
        torrent_moderate(actor=uploader, torrent_id=torrent.pk, approve=True)
    with pytest.raises(NotPermitted):
        torrent_moderate(actor=member, torrent_id=torrent.pk, approve=True)
    assert Torrent.objects.get(pk=torrent.pk).status == "pending"
    assert torrent.created_at <= timezone.now()
