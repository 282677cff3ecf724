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


def test_the_filter_is_what_its_schema_validates_to_byte_for_byte(searcher, uploader):
    """api/torrents/filter and api/torrents render their rows without validating them
    through TorrentList (for speed): the bytes are exactly those the validated answer
    renders to by alias, so a field missing, extra, out of order or of another type
    (1 for 1.0, "1" for 1) shows here."""
    from domain.accounts.models import UserPrivacy
    from domain.catalog.models import TorrentTag, TorrentTagAssignment
    from frontend.api.unit3d import TorrentList
    from frontend.api.unit3d import api as ninja_api
    from tests.factories import make_torrent, make_user

    _, key = searcher
    hidden = make_user("member")
    UserPrivacy.objects.update_or_create(user=hidden, defaults={"show_uploads": False})
    shown = listed(name="Shown.Uploader.S01E02.1080p", category="tv-hd", uploader=uploader,
                   seeders=4, leechers=2, snatches=9,
                   metadata={"imdb_id": "tt0087799", "tmdb_id": 13155, "tvdb_id": 7,
                             "resolution": "1080p", "source": "WEB-DL"})
    TorrentFile.objects.create(torrent=shown, file_index=0, path="Shown/a.mkv", size=10)
    TorrentFile.objects.create(torrent=shown, file_index=1, path="Shown/é.nfo", size=2)
    listed(name="Anonymous.Upload", uploader=uploader, is_anonymous=True,
           is_double_upload=True)
    listed(name="Hidden.Uploader", uploader=hidden, is_neutral_leech=True,
           metadata={"imdb_id": ""})
    free = listed(name="Freeleech.One", category="tv-hd", is_freeleech=True)
    listed(name="Hybrid.One", version="hybrid", is_featured=True)
    make_torrent(name="No.Statistics.Row")
    internal = TorrentTag.objects.create(name="internal")
    TorrentTagAssignment.objects.create(torrent=free, tag=internal, score=1)
    requests: list[tuple[str, dict[str, str]]] = [
        ("/api/torrents/filter", {"perPage": "100"}),
        ("/api/torrents/filter", {"sortField": "seeders", "perPage": "2", "page": "2"}),
        ("/api/torrents/filter", {"name": "uploader"}),
        ("/api/torrents/filter", {"name": "nothing.matches"}),
        ("/api/torrents", {"perPage": "3"})]
    for path, params in requests:
        response = bearer(key).get(path, params)
        assert response.status_code == 200, response.content
        validated = TorrentList.model_validate(response.json()).model_dump(by_alias=True)
        rendered = ninja_api.renderer.render(response.wsgi_request, validated,
                                             response_status=200)
        assert response.content == rendered.encode(), (path, params)
        assert response["Content-Type"] == "application/json; charset=utf-8"
    rows = {r["attributes"]["name"]: r["attributes"]
            for r in bearer(key).get("/api/torrents/filter").json()["data"]}
    assert rows["Freeleech.One"]["internal"] is True
    assert rows["Freeleech.One"]["freeleech"] == "100%"
    assert rows["Anonymous.Upload"]["double_upload"] is True
    assert rows["Hidden.Uploader"]["uploader"] == "Anonymous"
    assert rows["Anonymous.Upload"]["uploader"] == "Anonymous"
    assert rows["Shown.Uploader.S01E02.1080p"]["uploader"] == uploader.username
    assert rows["No.Statistics.Row"]["seeders"] == 0
    assert bearer(key).get("/api/torrents/filter", {"perPage": 0}).status_code == 400
