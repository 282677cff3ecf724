"""Requests over the JSON API: list, create, vote, fill, through the catalog's services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from domain.accounts.models import User
from domain.catalog.models import TorrentCategory, TorrentRequest
from tests.factories import make_user
from tests.frontend.api.conftest import key_for, listed

pytestmark = pytest.mark.django_db


def api(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


def post(client: Client, path: str, body: dict) -> Any:
    return client.post(path, body, content_type="application/json")


def test_create_vote_fill_and_list(member, uploader):
    User.objects.filter(pk__in=[member.pk, uploader.pk]).update(bonus_points=Decimal("1000"))
    requester = api(key_for(member, "search", "account"))
    category = TorrentCategory.objects.get(slug="movies-hd")
    made = post(requester, "/api/v1/requests", {
        "category": str(category.pk), "title": "Night of the Comet 1984 1080p",
        "bounty": "150", "requirements": {"imdb_id": "tt0087799"}})
    assert made.status_code == 201, made.content
    request_id = made.json()["id"]
    assert User.objects.get(pk=member.pk).bonus_points == Decimal("850")
    voter = api(key_for(uploader, "account", "upload", "search"))
    voted = post(voter, f"/api/v1/requests/{request_id}/vote", {"amount": "200"})
    assert voted.status_code == 200 and Decimal(str(voted.json()["bounty_total"])) == 350
    listing = requester.get("/api/v1/requests", {"external_id": "tt0087799"}).json()
    assert listing["total"] == 1 and listing["results"][0]["vote_count"] == 2
    assert requester.get("/api/v1/requests", {"page": 5}).json()["results"] == []
    detail = requester.get(f"/api/v1/requests/{request_id}").json()
    assert {Decimal(str(v["amount"])) for v in detail["voters"]} == {Decimal(150),
                                                                     Decimal(200)}
    torrent = listed(name="Night.Of.The.Comet.1984.1080p", uploader=uploader)
    filled = post(voter, f"/api/v1/requests/{request_id}/fill", {"torrent": str(torrent.pk)})
    assert filled.status_code == 200, filled.content
    assert filled.json()["status"] == "filled"
    assert TorrentRequest.objects.get(pk=request_id).filler_id == uploader.pk
    assert User.objects.get(pk=uploader.pk).bonus_points == Decimal("1150")
    again = post(voter, f"/api/v1/requests/{request_id}/fill", {"torrent": str(torrent.pk)})
    assert again.status_code == 409
    late = post(voter, f"/api/v1/requests/{request_id}/vote", {"amount": "200"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "request_not_open"


def test_scopes_and_refusals(member):
    category = TorrentCategory.objects.get(slug="movies-hd")
    search_only = api(key_for(member, "search"))
    refused = post(search_only, "/api/v1/requests", {
        "category": str(category.pk), "title": "x", "bounty": "150"})
    assert refused.status_code == 403 and TorrentRequest.objects.count() == 0
    poor = post(api(key_for(member, "account", name="a")), "/api/v1/requests", {
        "category": str(category.pk), "title": "x", "bounty": "150"})
    assert poor.status_code == 400 and TorrentRequest.objects.count() == 0
    other = make_user("member")
    missing = post(api(key_for(other, "account")),
                   "/api/v1/requests/00000000-0000-0000-0000-000000000000/vote",
                   {"amount": "100"})
    assert missing.status_code == 404
