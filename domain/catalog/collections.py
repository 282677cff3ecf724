"""Writes for collections (torrent_collections, _items, _subscriptions): Gazelle's collages.

Who curates: the owner and staff (TORRENTS_EDIT_ANY) always; on a collection that is not
personal (theme, series, discography, label), any member who may create collections adds
torrents too, until the owner or staff lock it. Staff picks are made by staff only.

Items are ordered by `position` (1, 2, 3...). Adding a torrent tells every subscriber but
the one who added it (NotificationKind.COLLECTION_TORRENT, pushed live after commit).
Every write locks the collection row first, so positions and counts never race.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, NoReturn

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from domain.accounts.counters import statistics_bump
from domain.accounts.models import User
from domain.accounts.permissions import Perm, require_perm, user_has_perm
from domain.base import TargetType
from domain.catalog.models import (
    CollectionType,
    Comment,
    Torrent,
    TorrentCategory,
    TorrentCollection,
    TorrentCollectionItem,
    TorrentCollectionSubscription,
    TorrentStatus,
)
from domain.catalog.services import _comment_body, _comment_rate_limit, comment_text_check
from domain.community.models import NotificationKind
from domain.community.notifications import notification_send
from domain.errors import NotFound, NotPermitted, ValidationFailed
from domain.moderation.services import audit_log_write
from domain.search.models import IndexOperation
from domain.search.services import search_enqueue

NAME_MAX = 255
DESCRIPTION_MAX = 20000
NOTE_MAX = 255
ITEMS_MAX = 5000
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")


def collection_url(collection_id: uuid.UUID) -> str:
    return f"/collections/{collection_id}/"


def _text(value: Any, *, field: str, limit: int, required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationFailed("This field is required.", field=field)
    if len(text) > limit:
        raise ValidationFailed(f"At most {limit} characters.", field=field)
    if "\x00" in text:
        raise ValidationFailed("That text contains a NUL character.", field=field)
    return text


def _type(value: Any, actor: User) -> str:
    kind = str(value or CollectionType.PERSONAL)
    if kind not in CollectionType.values:
        raise ValidationFailed("Choose a kind of collection.", field="collection_type")
    if kind == CollectionType.STAFF_PICKS and not user_has_perm(actor, Perm.TORRENTS_EDIT_ANY):
        raise ValidationFailed("Only staff make staff picks.", field="collection_type")
    return kind


def _category(category_id: Any) -> TorrentCategory | None:
    if category_id in (None, ""):
        return None
    try:
        return TorrentCategory.objects.get(pk=category_id, is_active=True)
    except (TorrentCategory.DoesNotExist, ValueError, TypeError):
        raise ValidationFailed("Choose a category.", field="category") from None


def _locked(collection_id: Any) -> TorrentCollection:
    try:
        pk = uuid.UUID(str(collection_id))
    except ValueError:
        raise NotFound("That collection does not exist.") from None
    found = (TorrentCollection.objects.select_for_update()
             .filter(pk=pk, deleted_at__isnull=True).first())
    if found is None:
        raise NotFound("That collection does not exist or was deleted.")
    return found


def _is_staff(user: User) -> bool:
    return user_has_perm(user, Perm.TORRENTS_EDIT_ANY)


def collection_may_manage(user: User, collection: TorrentCollection) -> bool:
    """Edit, reorder, remove items, lock, delete: the owner or staff."""
    return user.is_active and (collection.owner_id == user.pk or _is_staff(user))


def _may_see(user: User, collection: TorrentCollection) -> bool:
    """collection_selectors.collections_visible's rule, for one row already in hand."""
    return (collection.is_public or collection.owner_id == user.pk or _is_staff(user)
            or user_has_perm(user, Perm.USERS_VIEW_PRIVATE))


def _refuse(user: User, collection: TorrentCollection, message: str) -> NoReturn:
    """A private collection the member may not see is not there for them (404, as on its
    page), so a write by id cannot probe for it; one they see but may not change is 403."""
    if not _may_see(user, collection):
        raise NotFound("That collection does not exist or was deleted.")
    raise NotPermitted(message)


def collection_may_add(user: User, collection: TorrentCollection) -> bool:
    if collection_may_manage(user, collection):
        return True
    return (collection.collection_type not in (CollectionType.PERSONAL,
                                               CollectionType.STAFF_PICKS)
            and not collection.is_locked and collection.is_public
            and user_has_perm(user, Perm.COLLECTION_CREATE))


def collection_create(*, owner: User, name: str, description: str = "",
                      collection_type: str = CollectionType.PERSONAL,
                      category_id: Any = None, is_public: bool = True) -> TorrentCollection:
    require_perm(owner, Perm.COLLECTION_CREATE, "Your class may not create collections yet.")
    name = _text(name, field="name", limit=NAME_MAX, required=True)
    description = _text(description, field="description", limit=DESCRIPTION_MAX)
    kind = _type(collection_type, owner)
    category = _category(category_id)
    with transaction.atomic():
        collection = TorrentCollection.objects.create(
            name=name, description=description, collection_type=kind, owner=owner,
            category=category, is_public=bool(is_public))
        search_enqueue(target_type=TargetType.COLLECTION, target_id=collection.pk)
    return collection


def collection_edit(*, actor: User, collection_id: Any, name: str, description: str = "",
                    collection_type: str = CollectionType.PERSONAL, category_id: Any = None,
                    is_public: bool = True, is_locked: bool | None = None,
                    ip_address: str | None = None) -> TorrentCollection:
    name = _text(name, field="name", limit=NAME_MAX, required=True)
    description = _text(description, field="description", limit=DESCRIPTION_MAX)
    kind = _type(collection_type, actor)
    category = _category(category_id)
    with transaction.atomic():
        collection = _locked(collection_id)
        if not collection_may_manage(actor, collection):
            _refuse(actor, collection, "Only the collection's owner or staff can edit it.")
        before = {"name": collection.name, "collection_type": collection.collection_type,
                  "is_public": collection.is_public, "is_locked": collection.is_locked}
        collection.name, collection.description = name, description
        collection.collection_type, collection.category = kind, category
        collection.is_public = bool(is_public)
        if is_locked is not None:
            collection.is_locked = bool(is_locked)
        collection.save()
        search_enqueue(target_type=TargetType.COLLECTION, target_id=collection.pk)
        if actor.pk != collection.owner_id:
            after = {"name": collection.name, "collection_type": collection.collection_type,
                     "is_public": collection.is_public, "is_locked": collection.is_locked}
            audit_log_write(action="collection.edit", actor=actor,
                            target_type=TargetType.COLLECTION, target_id=collection.pk,
                            ip_address=ip_address,
                            changes={k: [before[k], after[k]] for k in after
                                     if before[k] != after[k]})
    return collection


def _torrent(torrent_ref: Any) -> Torrent:
    match = _UUID_RE.search(str(torrent_ref or ""))
    torrent = None
    if match:
        torrent = (Torrent.objects.filter(pk=uuid.UUID(match.group(0)), deleted_at__isnull=True,
                                          status=TorrentStatus.APPROVED)
                   .defer("info_dict").first())
    if torrent is None:
        raise ValidationFailed("There is no such approved torrent: paste its page link or id.",
                               code="no_such_torrent", field="torrent")
    return torrent


def collection_torrent_add(*, actor: User, collection_id: Any, torrent: Any,
                           note: str = "") -> TorrentCollectionItem:
    """Append an approved torrent; every subscriber but the actor is notified live."""
    note = _text(note, field="note", limit=NOTE_MAX)
    found = _torrent(torrent)
    with transaction.atomic():
        collection = _locked(collection_id)
        if not collection_may_add(actor, collection):
            _refuse(actor, collection, "You may not add torrents to this collection.")
        if collection.item_count >= ITEMS_MAX:
            raise ValidationFailed(f"A collection holds at most {ITEMS_MAX} torrents.",
                                   field="torrent")
        if TorrentCollectionItem.objects.filter(collection=collection, torrent=found).exists():
            raise ValidationFailed("That torrent is in the collection already.",
                                   code="duplicate", field="torrent")
        last = (TorrentCollectionItem.objects.filter(collection=collection)
                .aggregate(m=Max("position"))["m"]) or 0
        item = TorrentCollectionItem.objects.create(collection=collection, torrent=found,
                                                    added_by=actor, position=last + 1,
                                                    note=note)
        collection.item_count = F("item_count") + 1
        collection.save(update_fields=["item_count", "updated_at"])
        now = timezone.now()
        subscribers = list(TorrentCollectionSubscription.objects.filter(collection=collection)
                           .exclude(user_id=actor.pk).values_list("user_id", flat=True))
        for user_id in subscribers:
            notification_send(
                user_id=user_id, kind=NotificationKind.COLLECTION_TORRENT,
                title=f"New in {collection.name}: {found.name}",
                url=collection_url(collection.pk), actor_id=actor.pk,
                target_type=TargetType.COLLECTION, target_id=collection.pk,
                payload={"collection_id": str(collection.pk), "torrent_id": str(found.pk)})
        if subscribers:
            TorrentCollectionSubscription.objects.filter(
                collection=collection, user_id__in=subscribers).update(last_notified_at=now)
    return item


def collection_torrent_remove(*, actor: User, collection_id: Any,
                              torrent_id: uuid.UUID) -> None:
    with transaction.atomic():
        collection = _locked(collection_id)
        if not collection_may_manage(actor, collection):
            _refuse(actor, collection, "Only the collection's owner or staff can remove torrents.")
        deleted, _ = TorrentCollectionItem.objects.filter(collection=collection,
                                                          torrent_id=torrent_id).delete()
        if not deleted:
            raise NotFound("That torrent is not in this collection.")
        collection.item_count = F("item_count") - 1
        collection.save(update_fields=["item_count", "updated_at"])


def collection_reorder(*, actor: User, collection_id: Any,
                       torrent_ids: list[uuid.UUID]) -> None:
    """Set the order: `torrent_ids` must name exactly the collection's torrents."""
    with transaction.atomic():
        collection = _locked(collection_id)
        if not collection_may_manage(actor, collection):
            _refuse(actor, collection, "Only the collection's owner or staff can reorder it.")
        items = {i.torrent_id: i for i in
                 TorrentCollectionItem.objects.filter(collection=collection)}
        if len(torrent_ids) != len(set(torrent_ids)) or set(torrent_ids) != set(items):
            raise ValidationFailed("List every torrent of the collection once.",
                                   field="order")
        for position, torrent_id in enumerate(torrent_ids, start=1):
            items[torrent_id].position = position
        TorrentCollectionItem.objects.bulk_update(items.values(), ["position"])


def collection_subscribe(*, user: User, collection_id: Any, subscribe: bool) -> bool:
    """Follow or stop following; returns whether the member follows it now."""
    require_perm(user, Perm.SITE_ACCESS)
    with transaction.atomic():
        collection = _locked(collection_id)
        if not collection.is_public and not collection_may_manage(user, collection):
            raise NotFound("That collection does not exist or was deleted.")
        if subscribe:
            _, created = TorrentCollectionSubscription.objects.get_or_create(
                collection=collection, user=user)
            if created:
                collection.subscriber_count = F("subscriber_count") + 1
                collection.save(update_fields=["subscriber_count"])
            return True
        deleted, _ = TorrentCollectionSubscription.objects.filter(
            collection=collection, user=user).delete()
        if deleted:
            collection.subscriber_count = F("subscriber_count") - 1
            collection.save(update_fields=["subscriber_count"])
        return False


def collection_delete(*, actor: User, collection_id: Any, reason: str,
                      ip_address: str | None = None) -> None:
    reason = _text(reason, field="reason", limit=500, required=True)
    with transaction.atomic():
        collection = _locked(collection_id)
        if not collection_may_manage(actor, collection):
            _refuse(actor, collection, "Only the collection's owner or staff can delete it.")
        collection.deleted_at = timezone.now()
        collection.save(update_fields=["deleted_at", "updated_at"])
        search_enqueue(target_type=TargetType.COLLECTION, target_id=collection.pk,
                       operation=IndexOperation.DELETE)
        audit_log_write(action="collection.delete", actor=actor,
                        target_type=TargetType.COLLECTION, target_id=collection.pk,
                        ip_address=ip_address,
                        metadata={"reason": reason, "name": collection.name})


def collection_feature(*, actor: User, collection_id: Any, featured: bool,
                       ip_address: str | None = None) -> TorrentCollection:
    """Staff feature a collection (browse lists featured ones first)."""
    require_perm(actor, Perm.TORRENTS_EDIT_ANY, "Only staff can feature collections.")
    with transaction.atomic():
        collection = _locked(collection_id)
        if collection.is_featured == featured:
            return collection
        collection.is_featured = featured
        collection.save(update_fields=["is_featured", "updated_at"])
        audit_log_write(action="collection.feature" if featured else "collection.unfeature",
                        actor=actor, target_type=TargetType.COLLECTION,
                        target_id=collection.pk, ip_address=ip_address,
                        changes={"is_featured": [not featured, featured]})
    return collection


def collection_comment_post(*, author: User, collection_id: Any, body: str,
                            quoted_id: uuid.UUID | None = None) -> Comment:
    """A comment on a collection, with the torrents' rules (the owner is notified)."""
    require_perm(author, Perm.COMMENT, "Your account may not post comments.")
    body = _comment_body(body)
    _comment_rate_limit(author)
    with transaction.atomic():
        try:
            pk = uuid.UUID(str(collection_id))
        except ValueError:
            raise NotFound("That collection does not exist.") from None
        collection = TorrentCollection.objects.filter(pk=pk, deleted_at__isnull=True).first()
        if collection is None or (not collection.is_public
                                  and not collection_may_manage(author, collection)):
            raise NotFound("That collection does not exist or was deleted.")
        quoted = None
        if quoted_id is not None:
            quoted = Comment.objects.filter(pk=quoted_id, target_type=TargetType.COLLECTION,
                                            target_id=collection.pk,
                                            deleted_at__isnull=True).first()
            if quoted is None:
                raise ValidationFailed("The quoted comment is gone.", field="quoted")
        comment = Comment.objects.create(target_type=TargetType.COLLECTION,
                                         target_id=collection.pk, author=author, body=body,
                                         quoted=quoted)
        statistics_bump(user_id=author.pk, counter="comments_count")
        comment_text_check(comment)
        url = f"{collection_url(collection.pk)}#comment-{comment.pk}"
        if collection.owner_id and collection.owner_id != author.pk:
            notification_send(user_id=collection.owner_id,
                              kind=NotificationKind.COLLECTION_COMMENT,
                              title=f"{author.username} commented on {collection.name}",
                              body=body[:200], url=url, actor_id=author.pk,
                              target_type=TargetType.COLLECTION, target_id=collection.pk)
        if (quoted is not None and quoted.author_id
                and quoted.author_id not in (author.pk, collection.owner_id)):
            notification_send(user_id=quoted.author_id, kind=NotificationKind.QUOTE,
                              title=f"{author.username} quoted you on {collection.name}",
                              body=body[:200], url=url, actor_id=author.pk,
                              target_type=TargetType.COLLECTION, target_id=collection.pk)
    return comment

