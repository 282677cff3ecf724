"""Django admin actions for requests and collections go through the domain services:
a refund, an unfill and a delete move points only through the ledger; featuring is
staff-only. The ledger is verified after each test."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from domain.accounts.models import User
from domain.catalog.collections import collection_create
from domain.catalog.models import TorrentCategory, TorrentRequestBounty
from domain.catalog.requests import request_create, request_fill, request_vote
from domain.moderation.models import AuditLog
from tests.domain.bonus.factories import fund
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_verified() -> Iterator[None]:
    yield
    call_command("bonus_verify_ledger")


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.REQUEST_MIN_BOUNTY = "100"


def balance(user: User) -> Decimal:
    return User.objects.get(pk=user.pk).bonus_points


def act(client: Client, model: str, action: str, ids: list) -> int:
    response = client.post(f"/admin/catalog/{model}/", {
        "action": action, "_selected_action": [str(i) for i in ids]})
    return response.status_code


def test_refund_unfill_and_delete_actions(sysop):
    requester, voter, filler = make_user(), make_user(), make_user("uploader")
    fund(requester, 100)
    fund(voter, 300)
    req = request_create(requester=requester, category_id=TorrentCategory.objects.get(
        slug="movies-hd").pk, title="Admin test", bounty="100")
    bounty = request_vote(user=voter, request_id=req.pk, amount="300")
    client = Client()
    client.force_login(sysop)

    assert act(client, "torrentrequestbounty", "refund_bounties", [bounty.pk]) == 302
    assert balance(voter) == Decimal("300")
    assert TorrentRequestBounty.objects.get(pk=bounty.pk).refunded_at is not None

    request_fill(filler=filler, request_id=req.pk, torrent=str(make_torrent().pk))
    assert balance(filler) == Decimal("100")
    assert act(client, "torrentrequest", "unfill_requests", [req.pk]) == 302
    assert balance(filler) == Decimal("0")
    assert act(client, "torrentrequest", "delete_requests_with_refunds", [req.pk]) == 302
    assert balance(requester) == Decimal("100")
    assert set(AuditLog.objects.filter(actor=sysop).values_list("action", flat=True)) >= {
        "request.bounty_refund", "request.unfill", "request.delete"}
    # The fill fields are read-only in the change form: points move only by the actions.
    page = client.get(f"/admin/catalog/torrentrequest/{req.pk}/change/").content.decode()
    assert 'name="filler"' not in page and 'name="status"' not in page


def test_feature_action_is_for_staff_with_edit_rights(sysop, member):
    owner = make_user("power_user")
    c = collection_create(owner=owner, name="Featured one")
    client = Client()
    client.force_login(sysop)
    assert act(client, "torrentcollection", "feature_collections", [c.pk]) == 302
    c.refresh_from_db()
    assert c.is_featured
    assert act(client, "torrentcollection", "unfeature_collections", [c.pk]) == 302
    c.refresh_from_db()
    assert not c.is_featured
    outsider = Client()
    outsider.force_login(member)
    act(outsider, "torrentcollection", "feature_collections", [c.pk])
    c.refresh_from_db()
    assert not c.is_featured
