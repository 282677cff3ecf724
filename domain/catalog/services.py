"""Writes for the catalog: uploads, moderation, edits, deletion, tags, comments, feed tokens.

Each service checks who may act, writes in one transaction (audit row inside it when staff
act), and leaves events, notifications and the search nudge to after commit.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from domain.accounts.counters import statistics_bump
from domain.accounts.models import User
from domain.accounts.permissions import Perm, require_perm, user_has_perm
from domain.accounts.selectors import account_access_refusal
from domain.base import TargetType
from domain.catalog.access import torrent_may_edit
from domain.catalog.models import (
    Comment,
    FeedToken,
    Torrent,
    TorrentCategory,
    TorrentFile,
    TorrentMetadata,
    TorrentModeration,
    TorrentPieceLayers,
    TorrentStatus,
    TorrentTag,
    TorrentTagAssignment,
    TorrentTagVote,
)
from domain.catalog.torrentfile import (
    TorrentFileInvalid,
    announce_url,
    torrent_file_build,
    torrent_parse,
)
from domain.community.models import NotificationKind
from domain.community.notifications import notification_send
from domain.errors import NotFound, NotPermitted, ValidationFailed
from domain.events import ModerationItem, ModerationResolved, publish
from domain.moderation.autoflag import autoflag_text, autoflag_torrent
from domain.moderation.models import ModerationQueueItem, QueueSource, QueueStatus
from domain.moderation.selectors import ban_active_for_user
from domain.moderation.services import audit_log_write
from domain.ratelimit import rate_limit_hit
from domain.search.models import IndexOperation
from domain.search.services import search_enqueue
from domain.tracker.cache import invalidate_torrent
from domain.tracker.models import TorrentStatistics

METADATA_FIELDS = ("year", "resolution", "video_codec", "audio_codec", "source", "container",
                   "release_group", "hdr_format", "runtime_minutes", "imdb_id", "tmdb_id",
                   "tvdb_id", "igdb_id", "musicbrainz_id")
COMMENT_MAX = 65536


def _hashes(torrent: Torrent) -> tuple[bytes, ...]:
    return tuple(bytes(h) for h in (torrent.info_hash_v1, torrent.info_hash_v2) if h)


def _category(category_id: Any) -> TorrentCategory:
    try:
        return TorrentCategory.objects.get(pk=category_id, is_active=True)
    except (TorrentCategory.DoesNotExist, ValueError, TypeError):
        raise ValidationFailed("Choose a category.", field="category") from None


def _metadata_save(torrent: Torrent, metadata: dict[str, Any]) -> None:
    values = {k: v for k, v in metadata.items() if k in METADATA_FIELDS}
    extra = metadata.get("extra") or {}
    TorrentMetadata.objects.update_or_create(torrent=torrent,
                                             defaults={**values, "extra": extra})


def _get_torrent(torrent_id: uuid.UUID, *, lock: bool = False) -> Torrent:
    qs = Torrent.objects.filter(pk=torrent_id, deleted_at__isnull=True)
    if lock:
        qs = qs.select_for_update(of=("self",))
    torrent = qs.first()
    if torrent is None:
        raise NotFound("That torrent does not exist or was deleted.")
    return torrent


def _can_see(user: User, torrent: Torrent) -> bool:
    return (torrent.status == TorrentStatus.APPROVED or torrent.uploader_id == user.pk
            or user_has_perm(user, Perm.TORRENTS_MODERATE))


def torrent_upload(
    *,
    uploader: User,
    data: bytes,
    category_id: Any,
    title: str = "",
    description: str = "",
    is_anonymous: bool = False,
    metadata: dict[str, Any] | None = None,
    tags: list[str] | tuple[str, ...] = (),
) -> Torrent:
    """Store an uploaded .torrent with its files, metadata and tags.

    Uploads by groups without UPLOAD_AUTO_APPROVE wait in the moderation queue. The file
    must already be private (we do not re-issue it: changing the info dict would change
    its hashes, and the uploader would have to re-download before seeding)."""
    require_perm(uploader, Perm.UPLOAD, "Your account may not upload torrents.")
    if ban_active_for_user(uploader.pk, "upload"):
        raise NotPermitted("You are banned from uploading.", code="upload_banned")
    parsed = torrent_parse(data)
    category = _category(category_id)
    title = (title or parsed.name).strip()[:255]
    duplicate = Q()
    if parsed.info_hash_v1:
        duplicate |= Q(info_hash_v1=parsed.info_hash_v1)
    if parsed.info_hash_v2:
        duplicate |= Q(info_hash_v2=parsed.info_hash_v2)
    duplicate_message = "This torrent is already on the site (same info hash)."
    if Torrent.objects.filter(duplicate).exists():
        raise TorrentFileInvalid(duplicate_message)
    auto = user_has_perm(uploader, Perm.UPLOAD_AUTO_APPROVE)
    now = timezone.now()
    try:
        with transaction.atomic():
            torrent = Torrent.objects.create(
                info_hash_v1=parsed.info_hash_v1, info_hash_v2=parsed.info_hash_v2,
                version=parsed.version, name=title, description=description,
                category=category, uploader=uploader, is_anonymous=is_anonymous,
                status=TorrentStatus.APPROVED if auto else TorrentStatus.PENDING,
                size=parsed.size, file_count=len(parsed.files),
                piece_length=parsed.piece_length, info_dict=parsed.info_bytes,
                source=parsed.source)
            TorrentFile.objects.bulk_create(
                TorrentFile(torrent=torrent, file_index=i, path=f.path, size=f.size,
                            pieces_root=f.pieces_root)
                for i, f in enumerate(parsed.files))
            if parsed.piece_layers:
                TorrentPieceLayers.objects.create(torrent=torrent, data=parsed.piece_layers)
            TorrentModeration.objects.create(
                torrent=torrent, status=torrent.status, decided_at=now if auto else None,
                notes="auto-approved" if auto else "")
            TorrentStatistics.objects.create(torrent=torrent)
            if auto:
                statistics_bump(user_id=uploader.pk, counter="uploads_count")
            _metadata_save(torrent, metadata or {})
            for name in tags:
                _tag_add(user=uploader, torrent=torrent, name=name)
            if not auto:
                item = ModerationQueueItem.objects.create(
                    target_type=TargetType.TORRENT, target_id=torrent.pk,
                    source=QueueSource.NEW_UPLOAD, summary=title[:255], submitted_by=uploader)
                publish(ModerationItem(payload={
                    "id": str(item.pk), "target_type": "torrent", "target_id": str(torrent.pk),
                    "source": item.source, "summary": item.summary,
                    "created_at": item.created_at.isoformat()}))
            invalidate_torrent(torrent.pk, info_hashes=_hashes(torrent))
            search_enqueue(target_type=TargetType.TORRENT, target_id=torrent.pk)
            autoflag_torrent(torrent, uploads=lambda: Torrent.objects.filter(
                uploader_id=torrent.uploader_id, created_at__lte=torrent.created_at).count())
    except IntegrityError as exc:
        # Two uploads of the same file racing: the unique hash index decides.
        if "info_hash" in str(exc):
            raise TorrentFileInvalid(duplicate_message) from None
        raise
    return torrent


def torrent_moderate(*, actor: User, torrent_id: uuid.UUID, approve: bool, reason: str = "",
                     ip_address: str | None = None) -> Torrent:
    """Approve or reject an upload; the uploader is told and the tracker forgets the
    torrent's cached state."""
    require_perm(actor, Perm.TORRENTS_MODERATE, "Only torrent moderators can do this.")
    reason = reason.strip()
    if not approve and not reason:
        raise ValidationFailed("Give a reason for the rejection; the uploader will see it.",
                               field="reason")
    status = TorrentStatus.APPROVED if approve else TorrentStatus.REJECTED
    now = timezone.now()
    with transaction.atomic():
        torrent = _get_torrent(torrent_id, lock=True)
        old = torrent.status
        if old == status:
            raise ValidationFailed(f"The torrent is already {status.label.lower()}.")
        torrent.status = status
        torrent.save(update_fields=["status", "updated_at"])
        # uploads_count counts approved uploads: it follows the status both ways.
        if TorrentStatus.APPROVED in (old, status):
            statistics_bump(user_id=torrent.uploader_id, counter="uploads_count",
                            by=1 if approve else -1)
        TorrentModeration.objects.update_or_create(torrent=torrent, defaults={
            "status": status, "moderator": actor, "reason": reason, "decided_at": now})
        ModerationQueueItem.objects.filter(
            target_type=TargetType.TORRENT, target_id=torrent.pk,
            status__in=[QueueStatus.PENDING, QueueStatus.CLAIMED, QueueStatus.ESCALATED],
        ).update(status=QueueStatus.APPROVED if approve else QueueStatus.REJECTED,
                 resolved_by=actor, resolved_at=now, resolution_note=reason, updated_at=now)
        audit_log_write(action="torrent.approve" if approve else "torrent.reject",
                        actor=actor, target_type=TargetType.TORRENT, target_id=torrent.pk,
                        ip_address=ip_address, changes={"status": [old, status.value]},
                        metadata={"reason": reason})
        if torrent.uploader_id:
            verdict = "approved" if approve else "rejected"
            notification_send(
                user_id=torrent.uploader_id, kind=NotificationKind.MODERATION_DECISION,
                title=f"Your upload {torrent.name} was {verdict}", body=reason,
                url=f"/torrents/{torrent.pk}/", actor_id=actor.pk,
                target_type=TargetType.TORRENT, target_id=torrent.pk)
        publish(ModerationResolved(payload={
            "target_type": "torrent", "target_id": str(torrent.pk), "status": status.value}))
        invalidate_torrent(torrent.pk, info_hashes=_hashes(torrent))
        search_enqueue(target_type=TargetType.TORRENT, target_id=torrent.pk)
    return torrent


@dataclass(frozen=True)
class TorrentDownload:
    filename: str
    content: bytes


def _download_check(user: User, torrent_id: uuid.UUID) -> Torrent:
    if not user.is_active:
        raise NotPermitted("Your account is not active, so it cannot download.")
    require_perm(user, Perm.DOWNLOAD, "Your account may not download torrents.")
    if ban_active_for_user(user.pk, "download"):
        raise NotPermitted("You are banned from downloading.", code="download_banned")
    torrent = _get_torrent(torrent_id)
    if not _can_see(user, torrent):
        raise NotFound("That torrent does not exist or is not approved yet.")
    return torrent


def torrent_download(*, user: User, torrent_id: uuid.UUID) -> TorrentDownload:
    """The member's own .torrent: their passkey in the announce URL around the stored
    info dict bytes, so both info hashes are the uploaded ones."""
    torrent = _download_check(user, torrent_id)
    layers = TorrentPieceLayers.objects.filter(torrent=torrent).values_list("data", flat=True)
    content = torrent_file_build(info_bytes=bytes(torrent.info_dict),
                                 piece_layers=bytes(layers[0]) if layers else None,
                                 announce=announce_url(user.passkey))
    safe = re.sub(r"[^A-Za-z0-9._ -]+", "_", torrent.name).strip() or "download"
    return TorrentDownload(filename=f"{safe[:120]}.torrent", content=content)


def torrent_download_by_feed_token(*, token: str, torrent_id: uuid.UUID,
                                   ip: str | None = None) -> TorrentDownload:
    user = feed_token_user(token=token, ip=ip)
    return torrent_download(user=user, torrent_id=torrent_id)


def torrent_edit(*, actor: User, torrent_id: uuid.UUID, title: str, description: str,
                 category_id: Any, is_anonymous: bool, metadata: dict[str, Any] | None = None,
                 is_freeleech: bool | None = None, ip_address: str | None = None) -> Torrent:
    """Edit a torrent's listing (not its file). Uploaders may within
    TORRENT_EDIT_WINDOW_HOURS; staff with TORRENTS_EDIT_ANY always, and only they may
    change freeleech."""
    title = title.strip()
    if not title:
        raise ValidationFailed("The title cannot be empty.", field="title")
    with transaction.atomic():
        torrent = _get_torrent(torrent_id, lock=True)
        if not torrent_may_edit(actor, torrent):
            raise NotPermitted("You may not edit this torrent (only its uploader, within "
                               f"{settings.TORRENT_EDIT_WINDOW_HOURS} hours, or staff).")
        category = _category(category_id)
        before = {"name": torrent.name, "description": torrent.description,
                  "category": str(torrent.category_id), "is_anonymous": torrent.is_anonymous,
                  "is_freeleech": torrent.is_freeleech}
        torrent.name, torrent.description = title[:255], description
        torrent.category, torrent.is_anonymous = category, is_anonymous
        if is_freeleech is not None:
            require_perm(actor, Perm.TORRENTS_EDIT_ANY, "Only staff can change freeleech.")
            torrent.is_freeleech = is_freeleech
        torrent.save()
        after = {"name": torrent.name, "description": torrent.description,
                 "category": str(torrent.category_id), "is_anonymous": torrent.is_anonymous,
                 "is_freeleech": torrent.is_freeleech}
        if metadata is not None:
            _metadata_save(torrent, metadata)
        audit_log_write(action="torrent.edit", actor=actor, target_type=TargetType.TORRENT,
                        target_id=torrent.pk, ip_address=ip_address,
                        changes={k: [before[k], after[k]] for k in after
                                 if before[k] != after[k]})
        if before["is_freeleech"] != after["is_freeleech"]:
            invalidate_torrent(torrent.pk, info_hashes=_hashes(torrent))
        search_enqueue(target_type=TargetType.TORRENT, target_id=torrent.pk)
    return torrent


def torrent_delete(*, actor: User, torrent_id: uuid.UUID, reason: str,
                   ip_address: str | None = None) -> None:
    """Soft-delete (the row stays for history and duplicate detection)."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Give a reason for deleting the torrent.", field="reason")
    with transaction.atomic():
        torrent = _get_torrent(torrent_id, lock=True)
        staff = user_has_perm(actor, Perm.TORRENTS_DELETE_ANY)
        if not staff and not torrent_may_edit(actor, torrent):
            raise NotPermitted("You may not delete this torrent.")
        torrent.deleted_at = timezone.now()
        torrent.save(update_fields=["deleted_at", "updated_at"])
        if torrent.status == TorrentStatus.APPROVED:
            statistics_bump(user_id=torrent.uploader_id, counter="uploads_count", by=-1)
        audit_log_write(action="torrent.delete", actor=actor, target_type=TargetType.TORRENT,
                        target_id=torrent.pk, ip_address=ip_address,
                        metadata={"reason": reason, "name": torrent.name})
        if staff and torrent.uploader_id and torrent.uploader_id != actor.pk:
            notification_send(
                user_id=torrent.uploader_id, kind=NotificationKind.MODERATION_DECISION,
                title=f"Your upload {torrent.name} was deleted", body=reason,
                actor_id=actor.pk, target_type=TargetType.TORRENT, target_id=torrent.pk)
        invalidate_torrent(torrent.pk, info_hashes=_hashes(torrent))
        search_enqueue(target_type=TargetType.TORRENT, target_id=torrent.pk,
                       operation=IndexOperation.DELETE)


# --- tags --------------------------------------------------------------------------------

def tag_normalize(name: str) -> str:
    """`Science Fiction` -> `science.fiction`; raise ValidationFailed if nothing is left."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    tag = re.sub(r"[\s_]+", ".", ascii_name.strip().lower())
    tag = re.sub(r"[^a-z0-9.+#-]", "", tag)
    tag = re.sub(r"\.{2,}", ".", tag).lstrip(".-+#").rstrip(".-")[:64].rstrip(".")
    if not tag or not re.match(r"^[a-z0-9]", tag):
        raise ValidationFailed(f"'{name[:40]}' is not a usable tag: use letters and digits.",
                               field="tag")
    return tag


def _tag_add(*, user: User, torrent: Torrent, name: str) -> TorrentTagAssignment:
    tag, _ = TorrentTag.objects.get_or_create(name=tag_normalize(name),
                                              defaults={"created_by": user})
    assignment, created = TorrentTagAssignment.objects.get_or_create(
        torrent=torrent, tag=tag, defaults={"added_by": user, "score": 1})
    if created:
        TorrentTag.objects.filter(pk=tag.pk).update(usage_count=F("usage_count") + 1)
        TorrentTagVote.objects.create(assignment=assignment, user=user, vote=1)
    return assignment


def torrent_tag_add(*, user: User, torrent_id: uuid.UUID, name: str) -> TorrentTagAssignment:
    require_perm(user, Perm.TAG_VOTE, "Your account may not tag torrents.")
    _tag_rate_limit(user)
    with transaction.atomic():
        torrent = _get_torrent(torrent_id)
        if not _can_see(user, torrent):
            raise NotFound("That torrent does not exist.")
        assignment = _tag_add(user=user, torrent=torrent, name=name)
        search_enqueue(target_type=TargetType.TORRENT, target_id=torrent.pk)
    return assignment


def torrent_tag_vote(*, user: User, assignment_id: uuid.UUID, vote: int) -> int | None:
    """Vote a tag up (+1) or down (-1); a second vote replaces the first. Return the new
    score, or None when it fell to TORRENT_TAG_REMOVE_SCORE and the tag came off."""
    require_perm(user, Perm.TAG_VOTE, "Your account may not vote on tags.")
    if vote not in (1, -1):
        raise ValidationFailed("A tag vote is up or down.", field="vote")
    _tag_rate_limit(user)
    with transaction.atomic():
        assignment = (TorrentTagAssignment.objects.select_for_update()
                      .select_related("torrent").filter(pk=assignment_id,
                                                        torrent__deleted_at__isnull=True).first())
        if assignment is None or not _can_see(user, assignment.torrent):
            raise NotFound("That tag is no longer on the torrent.")
        TorrentTagVote.objects.update_or_create(assignment=assignment, user=user,
                                                defaults={"vote": vote})
        score = assignment.votes.aggregate(s=Sum("vote"))["s"] or 0
        search_enqueue(target_type=TargetType.TORRENT, target_id=assignment.torrent_id)
        if score <= settings.TORRENT_TAG_REMOVE_SCORE:
            TorrentTag.objects.filter(pk=assignment.tag_id, usage_count__gt=0).update(
                usage_count=F("usage_count") - 1)
            assignment.delete()
            return None
        assignment.score = score
        assignment.save(update_fields=["score"])
    return score


# --- comments ----------------------------------------------------------------------------

def _comment_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise ValidationFailed("Write something first.", field="body")
    if len(body) > COMMENT_MAX:
        raise ValidationFailed(f"Comments are limited to {COMMENT_MAX} characters.",
                               field="body")
    return body


def _comment_rate_limit(user: User) -> None:
    rate_limit_hit(key=f"comment:{user.pk}", limit=settings.CATALOG_COMMENTS_PER_MINUTE,
                   window_seconds=60, message="You are commenting too fast. Wait a minute.")


def comment_text_check(comment: Comment) -> None:
    """Call in the transaction that wrote a comment's body (on a torrent, request or
    collection; new or edited): the auto-flag word list sees it as it sees chat and forum
    text."""
    autoflag_text(target_type=TargetType.COMMENT, target_id=comment.pk, text=comment.body,
                  author_id=comment.author_id)


def _tag_rate_limit(user: User) -> None:
    rate_limit_hit(key=f"tag:{user.pk}", limit=settings.CATALOG_TAG_ACTIONS_PER_MINUTE,
                   window_seconds=60, message="You are tagging too fast. Wait a minute.")


def comment_post(*, author: User, torrent_id: uuid.UUID, body: str,
                 quoted_id: uuid.UUID | None = None) -> Comment:
    require_perm(author, Perm.COMMENT, "Your account may not post comments.")
    body = _comment_body(body)
    _comment_rate_limit(author)
    with transaction.atomic():
        torrent = _get_torrent(torrent_id)
        if not _can_see(author, torrent):
            raise NotFound("That torrent does not exist.")
        quoted = None
        if quoted_id is not None:
            quoted = Comment.objects.filter(pk=quoted_id, target_type=TargetType.TORRENT,
                                            target_id=torrent.pk,
                                            deleted_at__isnull=True).first()
            if quoted is None:
                raise ValidationFailed("The quoted comment is gone.", field="quoted")
        comment = Comment.objects.create(target_type=TargetType.TORRENT, target_id=torrent.pk,
                                         author=author, body=body, quoted=quoted)
        statistics_bump(user_id=author.pk, counter="comments_count")
        comment_text_check(comment)
        url = f"/torrents/{torrent.pk}/#comment-{comment.pk}"
        if torrent.uploader_id and torrent.uploader_id != author.pk:
            notification_send(user_id=torrent.uploader_id, kind=NotificationKind.TORRENT_COMMENT,
                              title=f"{author.username} commented on {torrent.name}",
                              body=body[:200], url=url, actor_id=author.pk,
                              target_type=TargetType.TORRENT, target_id=torrent.pk)
        if (quoted is not None and quoted.author_id
                and quoted.author_id not in (author.pk, torrent.uploader_id)):
            notification_send(user_id=quoted.author_id, kind=NotificationKind.QUOTE,
                              title=f"{author.username} quoted you on {torrent.name}",
                              body=body[:200], url=url, actor_id=author.pk,
                              target_type=TargetType.TORRENT, target_id=torrent.pk)
    return comment


def comment_edit(*, actor: User, comment_id: uuid.UUID, body: str) -> Comment:
    body = _comment_body(body)
    _comment_rate_limit(actor)
    with transaction.atomic():
        comment = (Comment.objects.select_for_update()
                   .filter(pk=comment_id, deleted_at__isnull=True).first())
        if comment is None:
            raise NotFound("That comment does not exist.")
        if comment.author_id != actor.pk or not user_has_perm(actor, Perm.COMMENT):
            raise NotPermitted("You can only edit your own comments.")
        comment.body = body
        comment.edited_at = timezone.now()
        comment.edit_count += 1
        comment.save(update_fields=["body", "edited_at", "edit_count", "updated_at"])
        comment_text_check(comment)
    return comment


def comment_delete(*, actor: User, comment_id: uuid.UUID,
                   ip_address: str | None = None) -> None:
    require_perm(actor, Perm.COMMENTS_MODERATE, "Only staff can delete comments.")
    with transaction.atomic():
        comment = (Comment.objects.select_for_update()
                   .filter(pk=comment_id, deleted_at__isnull=True).first())
        if comment is None:
            raise NotFound("That comment does not exist.")
        comment.deleted_at = timezone.now()
        comment.deleted_by = actor
        comment.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
        statistics_bump(user_id=comment.author_id, counter="comments_count", by=-1)
        audit_log_write(action="comment.delete", actor=actor, target_type=TargetType.COMMENT,
                        target_id=comment.pk, ip_address=ip_address,
                        metadata={"target_type": comment.target_type,
                                  "target_id": str(comment.target_id),
                                  "author_id": str(comment.author_id or "")})


# --- feed tokens -------------------------------------------------------------------------

def feed_token_get(*, user: User) -> str:
    token, _ = FeedToken.objects.get_or_create(user=user,
                                               defaults={"token": secrets.token_hex(20)})
    return token.token


def feed_token_reset(*, user: User) -> str:
    token = secrets.token_hex(20)
    FeedToken.objects.update_or_create(user=user, defaults={"token": token})
    return token


def feed_token_user(*, token: str, ip: str | None = None) -> User:
    """The member a feed link stands for, held to the same rules as a login: an account
    banned, disabled or not confirmed, or a banned address, gets nothing from it."""
    if not re.fullmatch(r"[0-9a-f]{40}", token or ""):
        raise NotFound("Unknown feed link; copy it again from your feed settings.")
    row = FeedToken.objects.select_related("user", "user__group").filter(token=token).first()
    if row is None:
        raise NotFound("Unknown feed link; copy it again from your feed settings.")
    if not row.user.is_active:
        raise NotPermitted("This account is not active.")
    refusal = account_access_refusal(user=row.user, ip=ip)
    if refusal is not None:
        raise NotPermitted(refusal, code="account_refused")
    return row.user
