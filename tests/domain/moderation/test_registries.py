"""Moderation learns how to describe and appeal the catalog's things from the catalog
itself (domain.catalog.moderation_hooks, registered in CatalogConfig.ready), so a lost
registration would only show as "not found" in the staff pages. Each kind is checked here
against a real row."""

from __future__ import annotations

import pytest

from domain.base import TargetType
from domain.moderation import appeals, targets
from domain.moderation.models import REPORT_TARGETS
from tests.factories import make_torrent


def test_every_report_target_type_has_a_lookup() -> None:
    missing = [t.value for t in REPORT_TARGETS if str(t) not in targets._LOOKUPS]
    assert missing == []


def test_a_rejected_upload_can_be_appealed() -> None:
    assert str(TargetType.TORRENT) in appeals._KINDS


@pytest.mark.django_db
def test_a_torrent_is_described_through_the_catalogs_lookup() -> None:
    torrent = make_torrent(name="Registry.Check.2026.1080p")
    described = targets.target_describe(TargetType.TORRENT, torrent.pk)
    assert described is not None and torrent.name in described.label
