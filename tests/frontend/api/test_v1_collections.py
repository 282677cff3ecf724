"""Collections over the JSON API: browse/search, detail with torrents, follow, privacy."""

from __future__ import annotations

import pytest
from django.test import Client

from domain.accounts.models import UserPrivacy
from domain.catalog.collections import collection_create, collection_torrent_add
from domain.catalog.models import TorrentCollectionSubscription
from tests.factories import make_user
from tests.frontend.api.conftest import key_for, listed

pytestmark = pytest.mark.django_db


def api(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


def test_browse_detail_and_follow(member):
    owner = make_user("uploader")
    torrent = listed(name="Comet.Collection.Item", seeders=4)
    made = collection_create(owner=owner, name="Cult comets", collection_type="theme")
    collection_torrent_add(actor=owner, collection_id=made.pk, torrent=str(torrent.pk))
    collection_create(owner=owner, name="Private list", is_public=False)
    client = api(key_for(member, "search", "account"))
    body = client.get("/api/v1/collections", {"q": "comet"}).json()
    assert body["total"] == 1 and body["results"][0]["owner"] == owner.username
    assert client.get("/api/v1/collections").json()["total"] == 1  # the private one hidden
    detail = client.get(f"/api/v1/collections/{made.pk}").json()
    assert [i["name"] for i in detail["items"]] == ["Comet.Collection.Item"]
    assert detail["items"][0]["seeders"] == 4 and detail["subscribed"] is False
    followed = client.post(f"/api/v1/collections/{made.pk}/subscribe", {"subscribe": True},
                           content_type="application/json")
    assert followed.json() == {"subscribed": True}
    assert TorrentCollectionSubscription.objects.filter(collection=made, user=member).exists()
    UserPrivacy.objects.filter(user=owner).update(show_collections=False)
    assert client.get(f"/api/v1/collections/{made.pk}").json()["owner"] is None
    assert client.get("/api/v1/collections").json()["results"][0]["owner"] is None
    search_only = api(key_for(member, "search", name="s"))
    refused = search_only.post(f"/api/v1/collections/{made.pk}/subscribe", {},
                               content_type="application/json")
    assert refused.status_code == 403
    missing = client.get("/api/v1/collections/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
