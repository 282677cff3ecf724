"""Collection pages as members see them, with field errors on bad input and permissions
checked server-side per persona."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from domain.accounts.models import User
from domain.catalog.collections import collection_create, collection_torrent_add
from domain.catalog.models import TorrentCollection, TorrentCollectionItem
from domain.moderation.models import Ban
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def field_error(html: str, field: str) -> str:
    match = re.search(rf'data-field="{field}">([^<]+)<', html)
    assert match, f"no error shown on {field}"
    return match.group(1)


def test_create_curate_follow_through_the_pages(member):
    owner = make_user("power_user")
    client = login(owner)
    assert client.post("/collections/new/", {"name": "", "collection_type": "personal"}
                       ).status_code == 400
    response = client.post("/collections/new/", {"name": "Hitchcock",
                                                 "collection_type": "series",
                                                 "description": "<i>suspense</i>",
                                                 "is_public": "on"})
    c = TorrentCollection.objects.get()
    assert response["Location"] == f"/collections/{c.pk}/"
    first, second = make_torrent(name="Vertigo.1958"), make_torrent(name="Psycho.1960")
    bad = client.post(f"/collections/{c.pk}/add/", {"torrent": "no-such"})
    assert bad.status_code == 400 and "no such approved torrent" in field_error(
        bad.content.decode(), "torrent")
    for t in (first, second):
        assert client.post(f"/collections/{c.pk}/add/",
                           {"torrent": f"http://testserver/torrents/{t.pk}/"}).status_code == 302
    assert client.post(f"/collections/{c.pk}/reorder/",
                       {"order": f"{second.pk}\n{first.pk}"}).status_code == 302
    broken = client.post(f"/collections/{c.pk}/reorder/", {"order": "x y"})
    assert broken.status_code == 400 and field_error(broken.content.decode(), "order")

    viewer = login(member)
    page = viewer.get(f"/collections/{c.pk}/").content.decode()
    assert page.index("Psycho.1960") < page.index("Vertigo.1958")
    assert "<i>suspense</i>" in page and owner.username in page
    assert viewer.post(f"/collections/{c.pk}/subscribe/", {"subscribe": "1"}).status_code == 302
    assert "Stop following" in viewer.get(f"/collections/{c.pk}/").content.decode()
    listing = viewer.get("/collections/", {"q": "hitch"}).content.decode()
    assert f'data-id="{c.pk}"' in listing
    torrent_page = viewer.get(f"/torrents/{first.pk}/").content.decode()
    assert "Hitchcock" in torrent_page and f"/collections/{c.pk}/" in torrent_page
    assert viewer.post(f"/collections/{c.pk}/comments/", {"body": "Great"}).status_code == 302
    assert "Great" in viewer.get(f"/collections/{c.pk}/").content.decode()


@pytest.mark.parametrize("persona", ["member", "power_user", "uploader", "moderator",
                                     "upload_banned"])
def test_permissions_per_persona(persona):
    owner = make_user("power_user")
    c = collection_create(owner=owner, name="Someone's", collection_type="personal")
    collection_torrent_add(actor=owner, collection_id=c.pk, torrent=str(make_torrent().pk))
    user = make_user("member" if persona == "upload_banned" else persona)
    if persona == "upload_banned":
        Ban.objects.create(ban_type="upload", user=user, reason="fakes")
    client = login(user)
    staff = persona == "moderator"
    can_create = persona in ("power_user", "uploader", "moderator")

    assert client.get("/collections/").status_code == 200
    assert client.get(f"/collections/{c.pk}/").status_code == 200
    assert client.get("/collections/new/").status_code == (200 if can_create else 403)
    assert client.get(f"/collections/{c.pk}/edit/").status_code == (200 if staff else 403)
    add = client.post(f"/collections/{c.pk}/add/", {"torrent": str(make_torrent().pk)})
    assert add.status_code == (302 if staff else 403)
    item = TorrentCollectionItem.objects.filter(collection=c).first()
    assert item is not None
    remove = client.post(f"/collections/{c.pk}/remove/{item.torrent_id}/")
    assert remove.status_code == (302 if staff else 403)
    feature = client.post(f"/collections/{c.pk}/feature/", {"featured": "1"})
    assert feature.status_code == (302 if staff else 403)
    assert client.post(f"/collections/{c.pk}/subscribe/",
                       {"subscribe": "1"}).status_code == 302
    delete = client.post(f"/collections/{c.pk}/delete/", {"reason": "x"})
    assert delete.status_code == (302 if staff else 403)
    c.refresh_from_db()
    assert (c.deleted_at is not None) == staff
    assert c.is_featured == staff


def test_anonymous_is_sent_to_login():
    c = collection_create(owner=make_user("power_user"), name="x")
    client = Client()
    for response in (client.get("/collections/"), client.get(f"/collections/{c.pk}/"),
                     client.post(f"/collections/{c.pk}/subscribe/", {"subscribe": "1"})):
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_profile_lists_the_members_collections_as_paranoia_allows():
    owner, other, moderator = make_user("power_user"), make_user("member"), make_user(
        "moderator")
    collection_create(owner=owner, name="Hitchcock films")
    collection_create(owner=owner, name="Private stash", is_public=False)
    url = f"/users/{owner.username}/"

    def shown(viewer: User) -> str:
        return login(viewer).get(url).content.decode()

    page = shown(other)
    assert "Hitchcock films" in page and "Private stash" not in page
    owner.privacy.show_collections = False
    owner.privacy.save()
    page = shown(other)
    assert "Hitchcock films" not in page and 'class="member-collections started"' not in page
    for viewer in (owner, moderator):  # themself and staff who see through paranoia
        page = shown(viewer)
        assert "Hitchcock films" in page and "Private stash" in page


def test_browse_counts_up_to_a_cap_like_the_other_browse_pages(member, settings):
    settings.REQUESTS_PER_PAGE = 2
    settings.BROWSE_COUNT_CAP = 2
    owner = make_user("power_user")
    TorrentCollection.objects.bulk_create(TorrentCollection(name=f"C{i}", owner=owner)
                                          for i in range(5))
    client = login(member)
    first = client.get("/collections/").content.decode()
    assert "Page 1 of 2+" in first and "2+ collections" in first and 'rel="next"' in first
    last = client.get("/collections/", {"page": "3"}).content.decode()
    assert "Page 3 of 3<" in last and "5 collections" in last and 'rel="next"' not in last
