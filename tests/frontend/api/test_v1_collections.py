"""Collections over the JSON API: browse/search, detail with torrents, follow, privacy."""

from __future__ import annotations

from typing import Any

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


# --- create and curate ------------------------------------------------------------------

def post(client: Client, path: str, body: object, method: str = "post") -> Any:
    return getattr(client, method)(path, body, content_type="application/json")


def test_create_edit_add_reorder_remove_and_delete(moderator):
    from domain.catalog.models import TorrentCategory, TorrentCollection
    from domain.moderation.models import AuditLog

    owner = make_user("power_user")
    first, second = listed(name="Orbit.One", seeders=2), listed(name="Orbit.Two")
    client = api(key_for(owner, "search", "account"))
    category = TorrentCategory.objects.get(slug="movies-hd")
    made = post(client, "/api/v1/collections", {
        "name": "Orbits", "description": "All of them", "collection_type": "theme",
        "category": str(category.pk)})
    assert made.status_code == 201, made.content
    body = made.json()
    cid = body["id"]
    assert body["name"] == "Orbits" and body["category"] == "movies-hd"
    assert body["owner"] == owner.username and body["can_manage"] and body["items"] == []

    added = post(client, f"/api/v1/collections/{cid}/torrents",
                 {"torrent": str(first.pk), "note": "the first"})
    assert added.status_code == 201, added.content
    assert added.json() == {"torrent_id": str(first.pk), "name": "Orbit.One",
                            "size": first.size, "seeders": 2, "note": "the first",
                            "position": 1}
    assert post(client, f"/api/v1/collections/{cid}/torrents",
                {"torrent": str(second.pk)}).json()["position"] == 2
    again = post(client, f"/api/v1/collections/{cid}/torrents", {"torrent": str(first.pk)})
    assert again.status_code == 400 and again.json()["error"]["code"] == "duplicate"

    reordered = post(client, f"/api/v1/collections/{cid}/torrents",
                     {"torrents": [str(second.pk), str(first.pk)]}, method="put")
    assert reordered.status_code == 200, reordered.content
    assert [i["name"] for i in reordered.json()["items"]] == ["Orbit.Two", "Orbit.One"]
    partial = post(client, f"/api/v1/collections/{cid}/torrents",
                   {"torrents": [str(second.pk)]}, method="put")
    assert partial.status_code == 400 and partial.json()["error"]["field"] == "order"

    edited = post(client, f"/api/v1/collections/{cid}",
                  {"name": "Orbits, all", "is_locked": True}, method="patch")
    assert edited.status_code == 200, edited.content
    row = TorrentCollection.objects.get(pk=cid)
    # Fields left out keep their values.
    assert (row.name, row.description, row.collection_type, row.category_id, row.is_locked) \
        == ("Orbits, all", "All of them", "theme", category.pk, True)
    cleared = post(client, f"/api/v1/collections/{cid}", {"clear_category": True},
                   method="patch")
    assert cleared.json()["category"] is None

    removed = client.delete(f"/api/v1/collections/{cid}/torrents/{first.pk}")
    assert removed.status_code == 204
    gone = client.delete(f"/api/v1/collections/{cid}/torrents/{first.pk}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    assert [i["name"] for i in client.get(f"/api/v1/collections/{cid}").json()["items"]] \
        == ["Orbit.Two"]

    # Staff edit someone else's collection: audited, as from the page.
    staff = api(key_for(moderator, "search", "account"))
    assert post(staff, f"/api/v1/collections/{cid}", {"is_public": False},
                method="patch").status_code == 200
    assert AuditLog.objects.filter(action="collection.edit", actor=moderator).exists()

    no_reason = post(client, f"/api/v1/collections/{cid}/delete", {})
    assert no_reason.status_code == 400 and no_reason.json()["error"]["field"] == "reason"
    deleted = post(client, f"/api/v1/collections/{cid}/delete", {"reason": "done"})
    assert deleted.json() == {"deleted": True}
    assert client.get(f"/api/v1/collections/{cid}").status_code == 404


def test_who_may_curate_is_checked_on_the_server(member):
    owner, other = make_user("power_user"), make_user("power_user")
    torrent, pending = listed(name="Theme.Piece"), listed(name="Pending.Piece",
                                                         status="pending")
    theme = collection_create(owner=owner, name="Open theme", collection_type="theme")
    personal = collection_create(owner=owner, name="Mine only")
    private = collection_create(owner=owner, name="Hidden list", collection_type="theme",
                                is_public=False)
    collection_torrent_add(actor=owner, collection_id=personal.pk, torrent=str(torrent.pk))
    by_other = api(key_for(other, "search", "account"))

    # A member whose class may not create collections: 403 with a stable code.
    made = post(api(key_for(member, "account")), "/api/v1/collections", {"name": "Nope"})
    assert made.status_code == 403 and made.json()["error"]["code"] == "forbidden"
    # Staff picks are staff's.
    picks = post(by_other, "/api/v1/collections", {"name": "P", "collection_type": "staff_picks"})
    assert picks.status_code == 400 and picks.json()["error"]["field"] == "collection_type"

    # Anyone who may create collections adds to an unlocked public theme...
    assert post(by_other, f"/api/v1/collections/{theme.pk}/torrents",
                {"torrent": str(torrent.pk)}).status_code == 201
    # ...but not to a personal one, and removes, reorders and edits nothing of others'.
    refused = post(by_other, f"/api/v1/collections/{personal.pk}/torrents",
                   {"torrent": str(listed(name="Other.Piece").pk)})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert by_other.delete(
        f"/api/v1/collections/{personal.pk}/torrents/{torrent.pk}").status_code == 403
    assert post(by_other, f"/api/v1/collections/{personal.pk}/torrents",
                {"torrents": [str(torrent.pk)]}, method="put").status_code == 403
    assert post(by_other, f"/api/v1/collections/{theme.pk}", {"name": "Mine now"},
                method="patch").status_code == 403
    assert post(by_other, f"/api/v1/collections/{theme.pk}/delete",
                {"reason": "x"}).status_code == 403
    # A private collection is not there for them: 404 to every write, as to a read.
    for response in (
            post(by_other, f"/api/v1/collections/{private.pk}/torrents",
                 {"torrent": str(torrent.pk)}),
            by_other.delete(f"/api/v1/collections/{private.pk}/torrents/{torrent.pk}"),
            post(by_other, f"/api/v1/collections/{private.pk}", {"name": "x"}, method="patch"),
            post(by_other, f"/api/v1/collections/{private.pk}/delete", {"reason": "x"})):
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "not_found"
    # Locked: only the owner and staff add.
    post(api(key_for(owner, "account")), f"/api/v1/collections/{theme.pk}",
         {"is_locked": True}, method="patch")
    assert post(by_other, f"/api/v1/collections/{theme.pk}/torrents",
                {"torrent": str(listed(name="Late.Piece").pk)}).status_code == 403
    # A torrent not approved (or not there) is refused by name.
    unapproved = post(api(key_for(owner, "account")),
                      f"/api/v1/collections/{personal.pk}/torrents",
                      {"torrent": str(pending.pk)})
    assert unapproved.status_code == 400
    assert unapproved.json()["error"]["code"] == "no_such_torrent"


def test_collection_writes_need_the_account_scope_and_refuse_bad_input():
    owner = make_user("power_user")
    made = collection_create(owner=owner, name="Scoped")
    search_only = api(key_for(owner, "search"))
    for response in (
            post(search_only, "/api/v1/collections", {"name": "x"}),
            post(search_only, f"/api/v1/collections/{made.pk}/torrents",
                 {"torrent": str(listed(name="S.One").pk)}),
            post(search_only, f"/api/v1/collections/{made.pk}", {"name": "y"}, method="patch")):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "scope_missing"
    client = api(key_for(owner, "account"))
    for body, field in (({"name": ""}, "name"), ({"name": "a" * 256}, "name"),
                        ({"name": "nul\x00"}, "name"), ({"name": "x", "collection_type": "z"},
                                                        "collection_type"),
                        ({"name": "x", "category": "not-a-uuid"}, "category")):
        response = post(client, "/api/v1/collections", body)
        assert response.status_code == 400, (body, response.content)
        assert response.json()["error"] == {**response.json()["error"], "code": "invalid",
                                            "field": field}
    unknown_category = post(client, "/api/v1/collections",
                            {"name": "x", "category": "00000000-0000-0000-0000-000000000001"})
    assert unknown_category.status_code == 400
    assert unknown_category.json()["error"]["field"] == "category"
    not_uuid = post(client, f"/api/v1/collections/{made.pk}/torrents", {"torrent": "nope"})
    assert not_uuid.status_code == 400 and not_uuid.json()["error"]["field"] == "torrent"
    assert post(client, "/api/v1/collections", ["name"]).status_code == 400
