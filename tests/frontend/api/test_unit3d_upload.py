"""UNIT3D's upload (POST api/torrents/upload) with UNIT3D's multipart field names, as
upload tools send it, onto our upload page's form and service: the same validation, the
same moderation queue, UNIT3D's answer shape, and errors that name UNIT3D's fields."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from domain.catalog.models import Torrent, TorrentCategory
from domain.moderation.services import ban_issue
from tests.domain.catalog.factories import libtorrent_make
from tests.factories import make_user
from tests.frontend.api.conftest import key_for

pytestmark = pytest.mark.django_db

UNIT3D_FIELDS = {
    # What a UNIT3D upload tool sends besides the file (Upload-Assistant's shape): ids as
    # numbers, 0 for "none", flags as 0/1, keywords comma separated.
    "name": "Night.Comet.1984.1080p.BluRay.x264-GRP", "description": "A fine encode.",
    "category_id": "100002", "type_id": "3", "resolution_id": "3", "imdb": "0087799",
    "tmdb": "14370", "tvdb": "0", "mal": "0", "igdb": "0", "anonymous": "0",
    "stream": "0", "sd": "0", "personal_release": "0", "internal": "0", "featured": "0",
    "free": "0", "doubleup": "0", "sticky": "0", "season_number": "0",
    "episode_number": "0", "keywords": "science.fiction, cult",
    "mediainfo": "General\nComplete name : Night.Comet.mkv\n", "mod_queue_opt_in": "0",
}


def test_unit3d_field_names_map_onto_our_upload(uploader):
    key = key_for(uploader, "upload", "download")
    raw = libtorrent_make("v1", name="Night.Comet.1984")
    response = Client().post("/api/torrents/upload?api_token=" + key, {
        **UNIT3D_FIELDS, "torrent": SimpleUploadedFile("x.torrent", raw),
        "nfo": SimpleUploadedFile("x.nfo", "Ripped with \u2591\n".encode("cp437"))})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True and body["message"] == "Torrent uploaded successfully."
    torrent = Torrent.objects.get(pk=body["id"])
    assert torrent.name == "Night.Comet.1984.1080p.BluRay.x264-GRP"
    assert torrent.description == "A fine encode."
    assert torrent.category == TorrentCategory.objects.get(slug="movies-hd")
    assert torrent.uploader == uploader and not torrent.is_anonymous
    assert torrent.status == body["status"] == "approved"  # uploaders are auto-approved
    meta = torrent.metadata
    assert (meta.imdb_id, meta.tmdb_id, meta.tvdb_id, meta.igdb_id) == \
        ("tt0087799", 14370, None, None)
    assert (meta.source, meta.resolution) == ("Encode", "1080p")
    assert meta.extra["mediainfo"].startswith("General") and "\u2591" in meta.extra["nfo"]
    assert meta.extra["season_number"] == 0 and "mal_id" not in meta.extra
    assert sorted(a.tag.name for a in torrent.tag_assignments.all()) == \
        ["cult", "science.fiction"]
    assert not torrent.is_freeleech and not torrent.is_featured
    # `data` is the download link, as UNIT3D answers; it works with the key alone.
    download = Client().get(body["data"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/x-bittorrent"
    assert body["details_link"].endswith(f"/torrents/{torrent.pk}/")


def test_names_instead_of_ids_anonymous_and_the_moderation_queue():
    member = make_user("member")  # not auto-approved: the upload waits for moderation
    key = key_for(member, "upload")
    response = Client(headers={"Authorization": f"Bearer {key}"}).post(
        "/api/torrents/upload", {
            "torrent": SimpleUploadedFile("y.torrent", libtorrent_make("v1", name="Show.S01")),
            "category_id": "100011", "type_id": "WEB-DL", "resolution_id": "2160p",
            "imdb": "tt0903747", "anonymous": "1", "free": "100", "featured": "1",
            "internal": "1", "doubleup": "1"})
    assert response.status_code == 200, response.content
    torrent = Torrent.objects.get(pk=response.json()["id"])
    assert torrent.status == response.json()["status"] == "pending"
    assert torrent.name == "Show.S01" and torrent.is_anonymous  # no name: the file's
    assert (torrent.metadata.source, torrent.metadata.resolution) == ("WEB-DL", "2160p")
    assert torrent.metadata.imdb_id == "tt0903747"
    # Staff flags from a member are ignored, as UNIT3D does for non-staff.
    assert not (torrent.is_freeleech or torrent.is_featured or torrent.is_double_upload)
    assert not torrent.tag_assignments.filter(tag__name="internal").exists()


def test_errors_name_unit3ds_fields_and_permissions_hold(uploader):
    key = key_for(uploader, "upload")
    client = Client(headers={"Authorization": f"Bearer {key}"})

    def upload(**fields):
        data = {"category_id": "100002",
                "torrent": SimpleUploadedFile("z.torrent", libtorrent_make("v1", name="Z")),
                **fields}
        return client.post("/api/torrents/upload", {k: v for k, v in data.items()
                                                    if v is not None})

    cases: list[tuple[dict[str, Any], str]] = [
        ({"torrent": None}, "torrent"),
        ({"torrent": SimpleUploadedFile("z.torrent", b"d4:junke")}, "torrent"),
        ({"category_id": None}, "category_id"),
        ({"category_id": "999999"}, "category_id"),
        ({"category_id": "2040"}, "category_id"),  # a standard id naming several of ours
        ({"category_id": "movies"}, "category_id"),
        ({"imdb": "nm123"}, "imdb"),
        ({"tmdb": "-4"}, "tmdb"),
        ({"name": "x" * 256}, "name"),
        ({"name": "nul\x00"}, "name"),
        ({"anonymous": "maybe"}, "anonymous"),
        ({"nfo": SimpleUploadedFile("big.nfo", b"x" * (64 * 1024 + 1))}, "nfo"),
    ]
    for fields, field in cases:
        response = upload(**fields)
        assert response.status_code == 400, (fields, response.content)
        body = response.json()
        assert body["success"] is False and body["error"]["field"] == field, (fields, body)
        assert body["error"]["code"] in ("invalid", "torrent_invalid")
        assert body["data"] == {
            field: [body["message"]]}
    assert Torrent.objects.count() == 0

    raw = libtorrent_make("v1", name="Twice")
    assert upload(torrent=SimpleUploadedFile("t.torrent", raw)).status_code == 200
    again = upload(torrent=SimpleUploadedFile("t.torrent", raw))
    assert again.status_code == 400 and "already on the site" in again.json()["message"]

    search_key = key_for(uploader, "search", name="s")
    search_only = Client(headers={"Authorization": f"Bearer {search_key}"})
    refused = search_only.post("/api/torrents/upload", {
        "category_id": "100002",
        "torrent": SimpleUploadedFile("s.torrent", libtorrent_make("v1", name="S"))})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "scope_missing"
    assert refused.json()["success"] is False
    no_key = Client().post("/api/torrents/upload", {"category_id": "100002"})
    assert no_key.status_code == 401 and no_key.json()["error"]["code"] == "invalid_api_key"
    ban_issue(actor=make_user("sysop"), ban_type="upload", reason="test", user=uploader)
    banned = upload(torrent=SimpleUploadedFile("b.torrent", libtorrent_make("v1", name="B")))
    assert banned.status_code == 403 and banned.json()["error"]["code"] == "upload_banned"
    assert Torrent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_real_multipart_request_over_http(live_server):
    """The request an upload tool makes (python-requests, files= and data=, the key as
    api_token in the query), over a socket to a running server."""
    user = make_user("uploader")
    key = key_for(user, "upload", "download")
    raw = libtorrent_make("v1", name="Over.The.Wire")
    response = requests.post(
        f"{live_server.url}/api/torrents/upload", params={"api_token": key},
        data=UNIT3D_FIELDS, files={"torrent": ("Over.The.Wire.torrent", raw,
                                               "application/x-bittorrent"),
                                   "nfo": ("info.nfo", b"NFO text", "text/plain")},
        timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    torrent = Torrent.objects.get(pk=body["id"])
    assert torrent.name == UNIT3D_FIELDS["name"] and torrent.metadata.extra["nfo"] == "NFO text"
    fetched = requests.get(body["data"], timeout=60)
    assert fetched.status_code == 200 and fetched.content.startswith(b"d")
    refused = requests.post(f"{live_server.url}/api/torrents/upload",
                            params={"api_token": key}, data={"category_id": "100002"},
                            timeout=60)
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "torrent"
