"""The torrent page laid out: poster from the release metadata, external ids linked,
promotion badges, the file tree, tabs for description, files, peers and snatches (paranoia
honoured in both), member names linked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from domain.accounts.models import User, UserPrivacy
from domain.catalog.models import TorrentFile, TorrentMetadata
from domain.tracker.models import TorrentHistory, TorrentStatistics
from tests.domain.bonus.factories import peer
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_lays_out_metadata_poster_badges_and_linked_ids():
    uploader, member = make_user("uploader"), make_user()
    t = make_torrent(name="Comet.1984.1080p", uploader=uploader, is_freeleech=True,
                     is_double_upload=True)
    TorrentMetadata.objects.create(torrent=t, year=1984, imdb_id="tt0087075", tmdb_id=9989,
                                   languages=["en"],
                                   extra={"poster": "https://img.example.test/comet.jpg"})
    html = login(member).get(f"/torrents/{t.pk}/").content.decode()

    assert '<img class="torrent-poster" src="https://img.example.test/comet.jpg"' in html
    assert 'href="https://www.imdb.com/title/tt0087075/"' in html
    assert 'href="https://www.themoviedb.org/movie/9989"' in html
    assert 'class="badge promo freeleech"' in html and 'class="badge promo double-upload"' in html
    assert f'<a class="member" href="/users/{uploader.username}/">' in html
    assert 'aria-current="page">Description</a>' in html


def test_a_poster_that_is_not_https_is_not_shown():
    t = make_torrent()
    TorrentMetadata.objects.create(torrent=t, extra={"poster": "javascript:alert(1)"})
    html = login(make_user()).get(f"/torrents/{t.pk}/").content.decode()
    assert "torrent-poster" not in html and "javascript:" not in html


def test_the_files_tab_shows_the_folder_tree():
    t = make_torrent()
    type(t).objects.filter(pk=t.pk).update(file_count=3)
    TorrentFile.objects.bulk_create([
        TorrentFile(torrent=t, file_index=0, path="Season 1/E01.mkv", size=2 * 1024**3),
        TorrentFile(torrent=t, file_index=1, path="Season 1/Subs/E01.srt", size=2048),
        TorrentFile(torrent=t, file_index=2, path="README.txt", size=10)])
    html = login(make_user()).get(f"/torrents/{t.pk}/", {"tab": "files"}).content.decode()

    assert 'aria-current="page">Files (3)</a>' in html
    tree = html[html.index('class="file-tree"'):]
    assert '<span class="name">Season 1/</span> <span class="size">2.00 GiB</span>' in tree
    assert '<span class="count">(2 files)</span>' in tree
    assert '<span class="name">Subs/</span>' in tree
    # Folders first, then the files of the level.
    assert tree.index("Season 1/") < tree.index("README.txt")
    assert tree.index("Subs/") < tree.index("E01.mkv")


def test_peers_and_snatches_tabs_honour_paranoia():
    t = make_torrent()
    TorrentStatistics.objects.create(torrent=t, seeders=2, leechers=0, snatches=2)
    shown, hiding = make_user(), make_user()
    UserPrivacy.objects.update_or_create(user=hiding, defaults={
        "show_seeding": False, "show_snatched": False})
    now = timezone.now()
    for who in (shown, hiding):
        peer(user=who, torrent=t, seeder=True, last_announce_at=now)
        TorrentHistory.objects.create(torrent=t, user=who, completed_at=now - timedelta(days=1))
    viewer = login(make_user())

    peers = viewer.get(f"/torrents/{t.pk}/", {"tab": "peers"}).content.decode()
    assert 'aria-current="page">Peers (2)</a>' in peers
    assert f'href="/users/{shown.username}/"' in peers
    assert hiding.username not in peers and '<span class="anonymous">Anonymous</span>' in peers

    snatches = viewer.get(f"/torrents/{t.pk}/", {"tab": "snatches"}).content.decode()
    assert f'href="/users/{shown.username}/"' in snatches
    assert hiding.username not in snatches

    # Staff see through paranoia.
    staff = login(make_user("sysop")).get(f"/torrents/{t.pk}/", {"tab": "peers"})
    assert hiding.username in staff.content.decode()


def test_an_unknown_tab_is_the_description():
    t = make_torrent(description="Plain words")
    html = login(make_user()).get(f"/torrents/{t.pk}/", {"tab": "<x>"}).content.decode()
    assert 'aria-current="page">Description</a>' in html and "Plain words" in html
