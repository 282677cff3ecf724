"""What moderation needs to know of the catalog's things, registered with it when Django
starts (CatalogConfig.ready calls moderation_hooks_register): how a torrent, a comment, a
request or a collection reads as a report target, and how a rejected upload is appealed.
Moderation sits below the catalog and imports nothing of it; it asks through these."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q

from domain.accounts.models import User
from domain.accounts.permissions import Perm, user_has_perm
from domain.base import TargetType
from domain.catalog.collection_selectors import collections_visible
from domain.catalog.models import (
    COMMENT_TARGETS,
    Comment,
    Torrent,
    TorrentCollection,
    TorrentModeration,
    TorrentRequest,
    TorrentStatus,
)
from domain.catalog.selectors import comment_page_url
from domain.catalog.services import torrent_moderate
from domain.errors import Conflict
from domain.moderation.appeals import Appealable, AppealKind, appeal_kind_register
from domain.moderation.models import Appeal
from domain.moderation.targets import (
    Target,
    name_of,
    target_describe,
    target_lookup_register,
    text_short,
)

# --- Report targets: the Target, or None when it is gone or the viewer may not see it
# (viewer None: staff reading, no visibility check). -------------------------------------


def _torrent(tid: uuid.UUID, viewer: Any) -> Target | None:
    torrent = Torrent.objects.filter(pk=tid, deleted_at__isnull=True).first()
    if torrent is None or not (viewer is None or torrent.status == "approved"
                               or torrent.uploader_id == viewer.pk
                               or user_has_perm(viewer, Perm.TORRENTS_MODERATE)):
        return None
    return Target(TargetType.TORRENT.value, tid, f"Torrent {torrent.name}",
                  text_short(torrent.description), f"/torrents/{tid}/", torrent.uploader_id)


def _comment(tid: uuid.UUID, viewer: Any) -> Target | None:
    comment = Comment.objects.select_related("author").filter(
        pk=tid, deleted_at__isnull=True).first()
    if comment is None or comment.target_type not in COMMENT_TARGETS:
        return None
    if viewer is not None:
        # A comment is seen where it is shown: under a torrent, request or collection
        # the viewer may open (a pending torrent, a private collection, a deleted
        # request hide their comments, and a report by id must not reach them).
        target_describe(comment.target_type, comment.target_id, viewer=viewer)
    return Target(TargetType.COMMENT.value, tid, f"Comment by {name_of(comment.author)}",
                  text_short(comment.body),
                  comment_page_url(target_type=comment.target_type,
                                   target_id=comment.target_id) + f"#comment-{tid}",
                  comment.author_id)


def _request(tid: uuid.UUID, viewer: Any) -> Target | None:
    request = TorrentRequest.objects.filter(pk=tid, deleted_at__isnull=True).first()
    if request is None:
        return None
    return Target(TargetType.REQUEST.value, tid, f"Request {request.title}",
                  text_short(request.description), f"/requests/{tid}/", request.requester_id)


def _collection(tid: uuid.UUID, viewer: Any) -> Target | None:
    # A private collection is reported only by those who may open it.
    collections = (TorrentCollection.objects.filter(deleted_at__isnull=True) if viewer is None
                   else collections_visible(viewer))
    collection = collections.filter(pk=tid).first()
    if collection is None:
        return None
    return Target(TargetType.COLLECTION.value, tid, f"Collection {collection.name}",
                  text_short(collection.description), f"/collections/{tid}/",
                  collection.owner_id)


# --- Appeals of rejected uploads ----------------------------------------------------------


def _rejected_uploads(member: User, appealed: dict[uuid.UUID, Appeal]) -> list[Appealable]:
    """The member's rejected uploads, and those they appealed (whatever became of them)."""
    torrents = Torrent.objects.filter(uploader=member, deleted_at__isnull=True).filter(
        Q(status=TorrentStatus.REJECTED) | Q(pk__in=list(appealed)))
    reasons = dict(TorrentModeration.objects.filter(torrent__in=torrents)
                   .values_list("torrent_id", "reason"))
    return [Appealable(TargetType.TORRENT, torrent.pk, f"Upload rejected: {torrent.name}",
                       reasons.get(torrent.pk, "") or "", appealed.get(torrent.pk))
            for torrent in torrents.order_by("-created_at")]


def _rejected_upload_hold(member: User, target_id: uuid.UUID) -> Torrent | None:
    torrent = Torrent.objects.select_for_update().filter(
        pk=target_id, uploader=member, deleted_at__isnull=True).first()
    if torrent is not None and torrent.status != TorrentStatus.REJECTED:
        raise Conflict("Only a rejected upload can be appealed.", code="not_rejected")
    return torrent


def _rejected_upload_undo(*, actor: User, target_id: uuid.UUID, note: str,
                          ip_address: str | None) -> None:
    torrent = Torrent.objects.filter(pk=target_id).first()
    if torrent is not None and torrent.status == TorrentStatus.REJECTED:
        torrent_moderate(actor=actor, torrent_id=torrent.pk, approve=True, reason=note,
                         ip_address=ip_address)


def moderation_hooks_register() -> None:
    target_lookup_register(TargetType.TORRENT, _torrent)
    target_lookup_register(TargetType.COMMENT, _comment)
    target_lookup_register(TargetType.REQUEST, _request)
    target_lookup_register(TargetType.COLLECTION, _collection)
    appeal_kind_register(TargetType.TORRENT, AppealKind(
        actions=_rejected_uploads, hold=_rejected_upload_hold, undo=_rejected_upload_undo))
