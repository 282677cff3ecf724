"""Django admin writes in the catalog, tracker, bonus and search areas need the permission
that matches them, as accounts and moderation already did: a moderator (ADMIN_ACCESS,
no SITE_SETTINGS or USERS_EDIT) may read bonus rules, freeleech tokens, client rules and
categories but not give themselves points or tokens, or change what the tracker allows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from domain.bonus.models import BonusRule, FreeleechToken
from domain.catalog.models import TorrentCategory
from domain.search.models import SearchIndexQueueItem
from domain.tracker.models import ClientRule, Peer
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db

GUARDED = [BonusRule, FreeleechToken, ClientRule, TorrentCategory, Peer, SearchIndexQueueItem]


def _url(model, view: str, *args) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", GUARDED, ids=lambda m: m.__name__)
def test_moderator_reads_but_cannot_write_site_settings(client, moderator, model):
    client.force_login(moderator)
    assert client.get(_url(model, "changelist")).status_code == 200
    assert client.get(_url(model, "add")).status_code == 403
    assert client.post(_url(model, "add"), {}).status_code == 403


def test_moderator_cannot_change_a_bonus_rule_but_a_sysop_can(client, moderator):
    rule = BonusRule.objects.first()
    assert rule is not None
    client.force_login(moderator)
    response = client.post(_url(BonusRule, "change", rule.pk), {"name": "mine"})
    assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.name != "mine"

    client.force_login(make_user("sysop"))
    assert client.get(_url(BonusRule, "change", rule.pk)).status_code == 200


def test_moderator_still_edits_torrents_and_categories_need_site_settings(client, moderator):
    torrent = make_torrent()
    category = TorrentCategory.objects.first()
    assert category is not None
    client.force_login(moderator)
    page = client.get(_url(type(torrent), "change", torrent.pk)).content.decode()
    assert 'name="_save"' in page  # an editable form, not the read-only view
    category_page = client.get(_url(TorrentCategory, "change", category.pk)).content.decode()
    assert 'name="_save"' not in category_page
