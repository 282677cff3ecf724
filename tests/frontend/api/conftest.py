"""Personas with API keys, and torrents with the metadata Torznab searches on."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import bencodepy
import pytest

from domain.accounts.apikeys import api_key_create
from domain.catalog.models import Torrent, TorrentCategory, TorrentMetadata
from domain.tracker.models import TorrentStatistics
from tests.factories import make_torrent, make_user


def key_for(user: Any, *scopes: str, name: str = "test") -> str:
    return api_key_create(user=user, name=name,
                          scopes=scopes or ("search", "download", "upload", "account")).token


def listed(*, name: str, category: str = "movies-hd", seeders: int = 0, leechers: int = 0,
           snatches: int = 0, uploader: Any = None, metadata: dict[str, Any] | None = None,
           **extra: Any) -> Torrent:
    torrent = make_torrent(name=name, uploader=uploader,
                           category=TorrentCategory.objects.get(slug=category), **extra)
    TorrentStatistics.objects.create(torrent=torrent, seeders=seeders, leechers=leechers,
                                     snatches=snatches)
    if metadata is not None:
        TorrentMetadata.objects.create(torrent=torrent, **metadata)
    return torrent


def bulk_torrents(count: int, *, category: str = "tv-hd", prefix: str = "Bulk") -> None:
    """`count` approved torrents in one insert each for torrents and statistics."""
    cat = TorrentCategory.objects.get(slug=category)
    rows = []
    for i in range(count):
        info = bencodepy.encode({b"name": f"{prefix}.{i}".encode(), b"piece length": 262144,
                                 b"length": 1000 + i, b"pieces": os.urandom(20),
                                 b"private": 1})
        rows.append(Torrent(name=f"{prefix}.{i}", version="v1", category=cat,
                            info_hash_v1=hashlib.sha1(info).digest(),  # noqa: S324
                            status="approved", size=1000 + i, file_count=1,
                            piece_length=262144, info_dict=info))
    made = Torrent.objects.bulk_create(rows)
    TorrentStatistics.objects.bulk_create(TorrentStatistics(torrent=t) for t in made)


@pytest.fixture
def searcher(db):
    user = make_user("member")
    return user, key_for(user)
