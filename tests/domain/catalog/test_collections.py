"""Collections: create and curate (ordered torrents), browse and search, follow; adding a
torrent tells every follower, live on their open socket; a torrent's page lists its
collections; paranoia's show_collections settings hide what they say; comments."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import sync_to_async

from domain.accounts.models import User
from domain.catalog.collection_selectors import (
    CollectionFilters,
    collection_page,
    collections_browse,
    member_collections,
    torrent_collections,
)
from domain.catalog.collections import (
    collection_comment_post,
    collection_create,
    collection_delete,
    collection_edit,
    collection_feature,
    collection_reorder,
    collection_subscribe,
    collection_torrent_add,
    collection_torrent_remove,
)
from domain.catalog.models import TorrentCollection, TorrentCollectionItem
from domain.community.models import Notification
from domain.errors import NotFound, NotPermitted, ValidationFailed
from domain.moderation.models import AuditLog
from tests.consumers.sockets import open_socket, session_headers
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


def power() -> User:
    return make_user("power_user")


def order(collection: TorrentCollection) -> list[uuid.UUID]:
    return list(TorrentCollectionItem.objects.filter(collection=collection)
                .order_by("position").values_list("torrent_id", flat=True))


def test_create_needs_the_permission_and_a_name(member):
    with pytest.raises(NotPermitted, match="may not create collections"):
        collection_create(owner=member, name="Mine")
    owner = power()
    with pytest.raises(ValidationFailed) as error:
        collection_create(owner=owner, name="  ")
    assert error.value.field == "name"
    with pytest.raises(ValidationFailed) as error:
        collection_create(owner=owner, name="Picks", collection_type="staff_picks")
    assert error.value.field == "collection_type"
    with pytest.raises(ValidationFailed):
        collection_create(owner=owner, name="x", collection_type="bogus")
    assert not TorrentCollection.objects.exists()


def test_curate_ordered_torrents(moderator):
    owner = power()
    c = collection_create(owner=owner, name="Carpenter", collection_type="discography")
    a, b, d = make_torrent(), make_torrent(), make_torrent()
    for t in (a, b, d):
        collection_torrent_add(actor=owner, collection_id=c.pk, torrent=str(t.pk))
    assert order(c) == [a.pk, b.pk, d.pk]
    with pytest.raises(ValidationFailed, match="already"):
        collection_torrent_add(actor=owner, collection_id=c.pk, torrent=str(a.pk))
    for bad in ("nope", str(make_torrent(status="pending").pk), str(uuid.uuid4())):
        with pytest.raises(ValidationFailed) as error:
            collection_torrent_add(actor=owner, collection_id=c.pk, torrent=bad)
        assert error.value.field == "torrent"

    collection_reorder(actor=owner, collection_id=c.pk, torrent_ids=[d.pk, a.pk, b.pk])
    assert order(c) == [d.pk, a.pk, b.pk]
    with pytest.raises(ValidationFailed):
        collection_reorder(actor=owner, collection_id=c.pk, torrent_ids=[d.pk, a.pk])
    with pytest.raises(ValidationFailed):
        collection_reorder(actor=owner, collection_id=c.pk, torrent_ids=[d.pk, d.pk, a.pk])
    collection_torrent_remove(actor=owner, collection_id=c.pk, torrent_id=a.pk)
    assert order(c) == [d.pk, b.pk]
    c.refresh_from_db()
    assert c.item_count == 2
    assert [x.pk for x in torrent_collections(user=make_user(), torrent_id=d.pk)] == [c.pk]


def test_who_may_add_and_manage(member, moderator):
    owner, other = power(), power()
    personal = collection_create(owner=owner, name="Mine")
    theme = collection_create(owner=owner, name="Rainy days", collection_type="theme")
    t = make_torrent()

    with pytest.raises(NotPermitted):
        collection_torrent_add(actor=other, collection_id=personal.pk, torrent=str(t.pk))
    collection_torrent_add(actor=other, collection_id=theme.pk, torrent=str(t.pk))
    with pytest.raises(NotPermitted):  # members without COLLECTION_CREATE do not curate
        collection_torrent_add(actor=member, collection_id=theme.pk,
                               torrent=str(make_torrent().pk))
    with pytest.raises(NotPermitted):
        collection_torrent_remove(actor=other, collection_id=theme.pk, torrent_id=t.pk)
    collection_edit(actor=owner, collection_id=theme.pk, name="Rainy days",
                    collection_type="theme", is_locked=True)
    with pytest.raises(NotPermitted):
        collection_torrent_add(actor=other, collection_id=theme.pk,
                               torrent=str(make_torrent().pk))
    # Staff manage anyone's collection, with an audit row.
    collection_edit(actor=moderator, collection_id=theme.pk, name="Rain",
                    collection_type="theme")
    assert AuditLog.objects.filter(action="collection.edit", actor=moderator).exists()
    with pytest.raises(NotPermitted):
        collection_feature(actor=owner, collection_id=theme.pk, featured=True)
    collection_feature(actor=moderator, collection_id=theme.pk, featured=True)
    assert next(c.pk for c in collections_browse(
        user=member, filters=CollectionFilters()).object_list) == theme.pk
    with pytest.raises(NotPermitted):
        collection_delete(actor=other, collection_id=theme.pk, reason="x")
    collection_delete(actor=owner, collection_id=theme.pk, reason="Done")
    with pytest.raises(NotFound):
        collection_page(user=owner, collection_id=theme.pk)


def test_followers_are_notified_of_new_torrents_but_not_the_adder(member):
    owner = power()
    c = collection_create(owner=owner, name="Noir")
    assert collection_subscribe(user=member, collection_id=c.pk, subscribe=True)
    collection_subscribe(user=member, collection_id=c.pk, subscribe=True)  # twice: once
    collection_subscribe(user=owner, collection_id=c.pk, subscribe=True)
    c.refresh_from_db()
    assert c.subscriber_count == 2
    t = make_torrent(name="The.Big.Sleep.1946")

    collection_torrent_add(actor=owner, collection_id=c.pk, torrent=str(t.pk))

    note = Notification.objects.get(kind="collection_torrent")
    assert (note.user_id, note.title, note.url) == (member.pk, "New in Noir: The.Big.Sleep.1946",
                                                    f"/collections/{c.pk}/")
    assert not collection_subscribe(user=member, collection_id=c.pk, subscribe=False)
    c.refresh_from_db()
    assert c.subscriber_count == 1


@pytest.mark.django_db(transaction=True)
async def test_a_follower_sees_the_new_torrent_live():
    owner, follower = await sync_to_async(power)(), await sync_to_async(make_user)()
    c = await sync_to_async(collection_create)(owner=owner, name="Westerns")
    await sync_to_async(collection_subscribe)(user=follower, collection_id=c.pk,
                                              subscribe=True)
    torrent = await sync_to_async(make_torrent)(name="Rio.Bravo.1959")
    headers = await sync_to_async(session_headers)(follower)

    async with open_socket(headers) as socket:
        await sync_to_async(collection_torrent_add)(actor=owner, collection_id=c.pk,
                                                    torrent=str(torrent.pk))
        frame = await socket.receive_json_from(timeout=10)

    assert frame["type"] == "notification"
    assert frame["payload"]["kind"] == "collection_torrent"
    assert frame["payload"]["title"] == "New in Westerns: Rio.Bravo.1959"


def test_private_collections_are_seen_by_owner_and_staff_only(member, moderator):
    owner = power()
    c = collection_create(owner=owner, name="Secret", is_public=False)
    with pytest.raises(NotFound):
        collection_page(user=member, collection_id=c.pk)
    with pytest.raises(NotFound):
        collection_subscribe(user=member, collection_id=c.pk, subscribe=True)
    assert collection_page(user=moderator, collection_id=c.pk).can_manage
    assert list(collections_browse(user=member, filters=CollectionFilters()).object_list) == []


def test_browse_search_filters(member):
    owner = power()
    noir = collection_create(owner=owner, name="Film noir classics",
                             description="Shadows and rain")
    collection_create(owner=owner, name="Space operas", collection_type="theme")

    def names(**kw) -> list[str]:
        return [c.name for c in collections_browse(
            user=member, filters=CollectionFilters(**kw)).object_list]

    assert names(q="NOIR") == ["Film noir classics"]
    assert names(q="shadows") == ["Film noir classics"]
    assert names(collection_type="theme") == ["Space operas"]
    assert names(owner=owner.username, sort="name") == ["Film noir classics", "Space operas"]
    assert names(q="%_") == []
    assert noir.pk


def test_paranoia_hides_started_and_contributed_collections(member, moderator):
    owner, helper = power(), power()
    mine = collection_create(owner=owner, name="Owned", collection_type="theme")
    collection_torrent_add(actor=helper, collection_id=mine.pk, torrent=str(make_torrent().pk))
    owner.privacy.show_collections = False
    owner.privacy.save()
    helper.privacy.show_collections_contributed = False
    helper.privacy.save()

    page = collection_page(user=member, collection_id=mine.pk)
    assert page.owner is None and page.items[0].added_by is None
    assert member_collections(viewer=member, member=owner).started is None
    assert member_collections(viewer=member, member=helper).contributed is None
    assert list(collections_browse(user=member, filters=CollectionFilters(
        owner=owner.username)).object_list) == []
    browse_row = collections_browse(user=member, filters=CollectionFilters()).object_list[0]
    assert browse_row.owner_hidden
    # The member themself and staff see through it.
    assert member_collections(viewer=owner, member=owner).started == [mine]
    assert member_collections(viewer=moderator, member=helper).contributed == [mine]
    staff_page = collection_page(user=moderator, collection_id=mine.pk)
    assert staff_page.owner == owner and staff_page.items[0].added_by == helper


def test_comments_on_collections(member):
    owner = power()
    c = collection_create(owner=owner, name="Talk")
    first = collection_comment_post(author=member, collection_id=c.pk, body="Nice list")
    collection_comment_post(author=owner, collection_id=c.pk, body="Thanks",
                            quoted_id=first.pk)
    assert Notification.objects.filter(user=owner, kind="collection_comment").count() == 1
    assert not Notification.objects.filter(kind="torrent_comment").exists()
    assert Notification.objects.filter(user=member, kind="quote").count() == 1
    assert [x.body for x in collection_page(user=member, collection_id=c.pk).comments] == [
        "Nice list", "Thanks"]
    with pytest.raises(ValidationFailed):
        collection_comment_post(author=member, collection_id=c.pk, body="")
