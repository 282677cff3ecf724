"""The UNIT3D-shaped API as a Cardigann definition calls it: Bearer key (or api_token=),
api/torrents/filter with UNIT3D's parameter names, the response shape it reads."""

from __future__ import annotations

import pytest
from django.test import Client

from domain.catalog.models import TorrentFile
from tests.frontend.api.conftest import key_for, listed

pytestmark = pytest.mark.django_db


def bearer(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


def test_filter_in_unit3ds_shape(searcher, uploader):
    _, key = searcher
    t = listed(name="Show.S02E05.1080p.WEB-DL", category="tv-hd", seeders=9, leechers=2,
               snatches=30, uploader=uploader, is_freeleech=True,
               metadata={"tvdb_id": 81189, "imdb_id": "tt0903747", "tmdb_id": 1396,
                         "resolution": "1080p", "source": "WEB-DL"})
    TorrentFile.objects.create(torrent=t, file_index=0, path="Show/e05.mkv", size=1000)
    listed(name="Show.S02E06.1080p.WEB-DL", category="tv-hd", metadata={"tvdb_id": 81189})
    listed(name="A.Movie.2020", category="movies-hd")
    body = bearer(key).get("/api/torrents/filter", {
        "tvdbId": "81189", "seasonNumber": "2", "episodeNumber": "5", "perPage": "25",
        "sortField": "created_at", "sortDirection": "desc"}).json()
    (row,) = body["data"]
    assert row["type"] == "torrent" and row["id"] == str(t.pk)
    a = row["attributes"]
    assert a["name"] == "Show.S02E05.1080p.WEB-DL" and a["freeleech"] == "100%"
    assert a["seeders"] == 9 and a["leechers"] == 2 and a["times_completed"] == 30
    assert a["imdb_id"] == 903747 and a["tvdb_id"] == 81189 and a["tmdb_id"] == 1396
    assert a["files"] == [{"index": 0, "name": "Show/e05.mkv", "size": 1000}]
    assert a["num_file"] == 1 and len(a["info_hash"]) == 40
    assert a["category_id"] == 100011 and a["resolution"] == "1080p" and a["type"] == "WEB-DL"
    assert a["download_link"].startswith("http://testserver/api/torznab/download/")
    assert a["details_link"].endswith(f"/torrents/{t.pk}/")
    assert a["magnet_link"].startswith("magnet:?")
    assert body["meta"]["current_page"] == 1 and body["meta"]["per_page"] == 25
    assert body["meta"]["from"] == 1 and body["meta"]["to"] == 1
    assert body["links"]["next"] is None and "api_token" not in body["links"]["self"]
    # The definition's download link works with the key alone.
    download = Client().get(a["download_link"])
    assert download.status_code == 200 and download["Content-Type"] == "application/x-bittorrent"


def test_filter_parameters_as_definitions_send_them(searcher):
    _, key = searcher
    listed(name="Free.Film", is_freeleech=True, metadata={"imdb_id": "tt0111161"})
    listed(name="Paid.Film", metadata={"tmdb_id": 603})
    listed(name="Song.Album", category="music-flac")

    def names(**params):
        response = Client().get("/api/torrents/filter", {"api_token": key, **params})
        assert response.status_code == 200, response.content
        return sorted(r["attributes"]["name"] for r in response.json()["data"])

    assert names(**{"free[]": "100"}) == ["Free.Film"]
    assert names(free="100") == ["Free.Film"]
    assert names(imdbId="0111161") == ["Free.Film"]
    assert names(tmdbId="603") == ["Paid.Film"]
    assert names(name="album") == ["Song.Album"]
    assert names(categories="100022") == ["Song.Album"]
    assert names(categories=["2040", "100022"]) == ["Free.Film", "Paid.Film", "Song.Album"]
    assert names(**{"categories[]": ["100022"]}) == ["Song.Album"]
    assert names(genres="Drama", startYear="1990") == ["Free.Film", "Paid.Film", "Song.Album"]


def test_login_check_paging_links_and_refusals(searcher):
    _, key = searcher
    for i in range(3):
        listed(name=f"T{i}")
    latest = bearer(key).get("/api/torrents", {"perPage": "2"}).json()
    assert len(latest["data"]) == 2 and latest["links"]["next"].endswith("page=2")
    assert Client().get("/api/torrents").status_code == 401
    assert bearer("trk_" + "1" * 40).get("/api/torrents").status_code == 401
    assert bearer(key).get("/api/torrents/filter", {"perPage": "500"}).status_code == 400
    account_only = key_for(searcher[0], "account", name="acc")
    assert bearer(account_only).get("/api/torrents/filter").status_code == 403


def test_api_user(searcher):
    user, _ = searcher
    body = bearer(key_for(user, "account", name="acc")).get("/api/user").json()
    assert body["username"] == user.username and body["uploaded"] == "0.00 B"
    assert body["uploaded_bytes"] == 0 and body["ratio"] == "∞"
