"""The JSON API v1 flows, per scope and persona, asserting what the caller gets and what
the database holds."""

from __future__ import annotations

from decimal import Decimal

import bencodepy
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from domain.accounts.apikeys import api_key_revoke
from domain.accounts.models import ApiKey, UserPrivacy
from domain.bonus.models import FreeleechToken
from domain.catalog.models import Torrent, TorrentCategory, TorrentFile
from domain.community.models import Notification
from domain.moderation.services import ban_issue
from tests.domain.catalog.factories import libtorrent_hashes, libtorrent_make
from tests.factories import make_user
from tests.frontend.api.conftest import key_for, listed

pytestmark = pytest.mark.django_db


def api(key: str | None = None) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"} if key else {})


def test_search_with_filters_external_ids_and_total(searcher, uploader):
    _, key = searcher
    listed(name="Night.Of.The.Comet.1984.1080p", uploader=uploader, seeders=3,
           metadata={"imdb_id": "tt0087799", "tmdb_id": 13155, "resolution": "1080p"})
    listed(name="Other.Show.S01E01.720p", category="tv-hd", is_freeleech=True,
           metadata={"tvdb_id": 7, "resolution": "720p"})
    for i in range(30):
        listed(name=f"Filler.{i}", category="music-flac")
    client = api(key)
    body = client.get("/api/v1/torrents", {"per_page": 10}).json()
    assert body["total"] == 32 and len(body["results"]) == 10 and body["per_page"] == 10
    page4 = client.get("/api/v1/torrents", {"per_page": 10, "page": 4}).json()
    assert page4["total"] == 32 and len(page4["results"]) == 2
    assert client.get("/api/v1/torrents", {"page": 99}).json()["results"] == []

    def names(**params):
        return [r["name"] for r in client.get("/api/v1/torrents", params).json()["results"]]

    assert names(imdb_id="0087799") == names(imdb_id="tt0087799") == \
        ["Night.Of.The.Comet.1984.1080p"]
    assert names(tmdb_id=13155) == ["Night.Of.The.Comet.1984.1080p"]
    assert names(tvdb_id=7, season=1, episode="1") == ["Other.Show.S01E01.720p"]
    assert names(freeleech="true") == ["Other.Show.S01E01.720p"]
    assert names(category="tv") == ["Other.Show.S01E01.720p"]
    assert names(torznab_categories=[2040]) == ["Night.Of.The.Comet.1984.1080p"]
    assert names(resolution="720p") == ["Other.Show.S01E01.720p"]
    assert names(q="comet") == ["Night.Of.The.Comet.1984.1080p"]
    assert names(uploader=uploader.username) == ["Night.Of.The.Comet.1984.1080p"]
    first = client.get("/api/v1/torrents", {"q": "comet"}).json()["results"][0]
    assert first["size"] == 1_048_576 and isinstance(first["size"], int)
    assert first["seeders"] == 3 and first["uploader"] == uploader.username
    assert first["torznab_categories"][0] == 2040 and first["imdb_id"] == "tt0087799"
    free = client.get("/api/v1/torrents", {"freeleech": "true"}).json()["results"][0]
    assert free["download_factor"] == 0 and free["upload_factor"] == 1


def test_bad_input_is_a_json_error_with_a_stable_code(searcher):
    _, key = searcher
    client = api(key)
    for params in ({"per_page": 101}, {"page": 0}, {"sort": "random"}, {"tmdb_id": "x"},
                   {"imdb_id": "nm1"}, {"q": "a\x00b"}):
        response = client.get("/api/v1/torrents", params)
        assert response.status_code == 400, params
        assert response.json()["error"]["code"] == "invalid"
    response = client.post("/api/v1/notifications/read", "[1]", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "error"


def test_detail_has_files_and_respects_paranoia(searcher, uploader):
    _, key = searcher
    t = listed(name="Hidden.Uploader", uploader=uploader)
    TorrentFile.objects.create(torrent=t, file_index=0, path="Hidden/a.mkv", size=10)
    TorrentFile.objects.create(torrent=t, file_index=1, path="Hidden/b.nfo", size=2)
    UserPrivacy.objects.filter(user=uploader).update(show_uploads=False)
    body = api(key).get(f"/api/v1/torrents/{t.pk}").json()
    assert [f["path"] for f in body["files"]] == ["Hidden/a.mkv", "Hidden/b.nfo"]
    assert body["uploader"] is None
    listing = api(key).get("/api/v1/torrents").json()["results"][0]
    assert listing["uploader"] is None
    own = api(key_for(uploader)).get(f"/api/v1/torrents/{t.pk}").json()
    assert own["uploader"] == uploader.username
    missing = api(key).get("/api/v1/torrents/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_download_follows_scope_and_the_pages_rules(db):
    member = make_user("member")
    t = listed(name="Film.2020")
    search_only = api(key_for(member, "search", name="s"))
    refused = search_only.get(f"/api/v1/torrents/{t.pk}/download")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "scope_missing"
    allowed = api(key_for(member, "download", name="d")).get(f"/api/v1/torrents/{t.pk}/download")
    assert allowed.status_code == 200 and allowed["Content-Type"] == "application/x-bittorrent"
    assert member.passkey.encode() in bencodepy.decode(allowed.content)[b"announce"]
    pending = listed(name="Pending", status="pending", uploader=make_user("uploader"))
    assert api(key_for(member, "download", name="d2")).get(
        f"/api/v1/torrents/{pending.pk}/download").status_code == 404


def test_upload_multipart_with_the_pages_validation(uploader):
    key = key_for(uploader, "upload")
    raw = libtorrent_make("v1", name="Api.Upload.2024.1080p")
    category = TorrentCategory.objects.get(slug="movies-hd")
    response = api(key).post("/api/v1/torrents", {
        "torrent_file": SimpleUploadedFile("a.torrent", raw), "category": str(category.pk),
        "tags": "science.fiction", "imdb_id": "tt0087799", "resolution": "1080p"})
    assert response.status_code == 201, response.content
    torrent = Torrent.objects.get(pk=response.json()["id"])
    assert torrent.uploader == uploader and torrent.name == "Api.Upload.2024.1080p"
    assert torrent.metadata.imdb_id == "tt0087799"
    assert libtorrent_hashes(raw)  # the file is a real one
    again = api(key).post("/api/v1/torrents", {
        "torrent_file": SimpleUploadedFile("a.torrent", raw), "category": str(category.pk)})
    assert again.status_code == 400 and "already on the site" in again.json()["error"]["message"]
    bad = api(key).post("/api/v1/torrents", {
        "torrent_file": SimpleUploadedFile("a.torrent", b"not a torrent"),
        "category": str(category.pk)})
    assert bad.status_code == 400 and Torrent.objects.count() == 1
    bad_imdb = api(key).post("/api/v1/torrents", {
        "torrent_file": SimpleUploadedFile("b.torrent", libtorrent_make("v1", name="B")),
        "category": str(category.pk), "imdb_id": "123"})
    assert bad_imdb.status_code == 400 and bad_imdb.json()["error"]["field"] == "imdb_id"
    search_only = api(key_for(uploader, "search", name="s")).post("/api/v1/torrents", {
        "torrent_file": SimpleUploadedFile("c.torrent", libtorrent_make("v1", name="C")),
        "category": str(category.pk)})
    assert search_only.status_code == 403 and Torrent.objects.count() == 1


def test_me_gives_bytes_as_integers(member):
    from domain.accounts.models import UserStatistics

    UserStatistics.objects.filter(user=member).update(uploaded=3 * 2**40, downloaded=2**40,
                                                      seeding_count=4, leeching_count=1)
    body = api(key_for(member, "account")).get("/api/v1/me").json()
    assert body["uploaded"] == 3 * 2**40 and body["downloaded"] == 2**40
    assert body["ratio"] == 3.0 and body["seeding"] == 4 and body["leeching"] == 1
    assert body["username"] == member.username
    refused = api(key_for(member, "search", name="s")).get("/api/v1/me")
    assert refused.status_code == 403


def test_notifications_list_and_mark_read(member):
    from domain.community.notifications import notification_send

    for i in range(3):
        notification_send(user_id=member.pk, kind="system", title=f"N{i}")
    client = api(key_for(member, "account"))
    body = client.get("/api/v1/notifications").json()
    assert body["total"] == 3 and body["unread"] == 3
    one = body["results"][0]["id"]
    assert client.post("/api/v1/notifications/read", {"id": one},
                       content_type="application/json").json() == {"marked": 1}
    assert client.post("/api/v1/notifications/read", {},
                       content_type="application/json").json() == {"marked": 2}
    assert Notification.objects.filter(user=member, read_at__isnull=True).count() == 0


def test_bonus_balance_and_buying_a_token(member, settings):
    from domain.accounts.models import User

    User.objects.filter(pk=member.pk).update(bonus_points=Decimal("300"))
    client = api(key_for(member, "account"))
    body = client.get("/api/v1/bonus").json()
    assert Decimal(str(body["balance"])) == Decimal("300") and body["tokens_available"] == 0
    bought = client.post("/api/v1/bonus/tokens", {"quantity": 1},
                         content_type="application/json")
    assert bought.status_code == 200, bought.content
    assert Decimal(str(bought.json()["balance"])) == Decimal("300") - Decimal(
        settings.BONUS_TOKEN_PRICE)
    assert FreeleechToken.objects.filter(user=member).count() == 1
    poor = client.post("/api/v1/bonus/tokens", {"quantity": 1}, content_type="application/json")
    assert poor.status_code == 400
    assert poor.json()["error"]["code"] == "insufficient_points"
    assert FreeleechToken.objects.filter(user=member).count() == 1


def test_keys_refused_when_missing_revoked_or_banned(member, sysop,
                                                     django_capture_on_commit_callbacks):
    assert api().get("/api/v1/torrents").json()["error"]["code"] == "invalid_api_key"
    key = key_for(member, "search")
    assert api(key).get("/api/v1/torrents").status_code == 200
    assert Client().get("/api/v1/torrents", {"apikey": key}).status_code == 200
    assert Client(headers={"X-Api-Key": key}).get("/api/v1/torrents").status_code == 200
    other = key_for(member, "search", name="other")
    api_key_revoke(user=member, key_id=ApiKey.objects.get(user=member, name="test").pk)
    revoked = api(key).get("/api/v1/torrents")
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "invalid_api_key"
    with django_capture_on_commit_callbacks(execute=True):
        ban_issue(actor=sysop, ban_type="account", reason="ratio cheat", user=member)
    banned = api(other).get("/api/v1/torrents")
    assert banned.status_code == 403
    assert banned.json()["error"]["code"] == "account_suspended"


def test_limits_per_key_and_per_address_answer_429(member, settings):
    settings.API_RATE_PER_KEY = 3
    key = key_for(member, "search")
    for _ in range(3):
        assert api(key).get("/api/v1/torrents").status_code == 200
    limited = api(key).get("/api/v1/torrents")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= settings.API_RATE_WINDOW_SECONDS
    # Another key of another member from another address still works...
    other = key_for(make_user("member"), "search")
    assert api(other).get("/api/v1/torrents", REMOTE_ADDR="192.0.2.7").status_code == 200
    # ...until that address has used its own budget.
    settings.API_RATE_PER_IP = 1
    response = api(other).get("/api/v1/torrents", REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 429 and "Retry-After" in response


def test_openapi_document_and_browser_are_served_locally(member):
    doc = Client().get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert {"/api/v1/torrents", "/api/v1/me", "/api/v1/bonus/tokens"} <= set(doc["paths"])
    page = Client().get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page
    from django.contrib.staticfiles import finders

    # The site's static handler serves what the finders find (server/asgi.py).
    assert finders.find("ninja/swagger-ui-bundle.js") and finders.find("ninja/swagger-ui.css")


def test_me_and_a_torrents_hit_and_run_status(member, settings):
    from datetime import timedelta

    from django.utils import timezone

    from domain.tracker.models import TorrentHistory

    done = listed(name="Was.Hit.And.Run")
    owing = listed(name="Still.Owed", size=1_048_576)
    never = listed(name="Never.Announced")
    now = timezone.now()
    TorrentHistory.objects.create(torrent=done, user=member, downloaded_raw=10**6,
                                  completed_at=now - timedelta(days=9), hnr_at=now)
    TorrentHistory.objects.create(torrent=owing, user=member, downloaded_raw=1_048_576,
                                  seedtime_seconds=3600, completed_at=now - timedelta(hours=1),
                                  seeding_until=now + timedelta(minutes=30))
    client = api(key_for(member, "account"))
    body = client.get("/api/v1/me").json()
    assert body["hit_and_runs"]["active"] == 1
    assert body["hit_and_runs"]["limit"] == settings.HNR_MAX_ACTIVE
    assert body["hit_and_runs"]["downloads_allowed"] is (settings.HNR_MAX_ACTIVE > 1)
    assert body["ratio_watch"]["on_watch"] is False
    owed = client.get(f"/api/v1/torrents/{owing.pk}/hit-and-run").json()
    assert owed["state"] == "seeding"
    assert owed["seed_seconds_owed"] == int(settings.HNR_SEED_HOURS * 3600) - 3600
    assert owed["minimum_seed_seconds"] == int(settings.HNR_SEED_HOURS * 3600)
    assert client.get(f"/api/v1/torrents/{done.pk}/hit-and-run").json()["state"] == \
        "hit-and-run"
    assert client.get(f"/api/v1/torrents/{never.pk}/hit-and-run").json()["state"] == \
        "never announced"
    assert client.get("/api/v1/torrents/00000000-0000-0000-0000-000000000001/hit-and-run"
                      ).status_code == 404


def test_the_list_is_what_its_schema_validates_to_byte_for_byte(searcher, uploader):
    """GET /torrents renders its rows without validating them through TorrentPageOut (for
    speed): the bytes are exactly those the validated, schema-shaped answer renders to, so
    a field missing, extra, or of another type (1 for 1.0) shows here."""
    from domain.catalog.models import TorrentTag, TorrentTagAssignment
    from frontend.api.v1 import TorrentPageOut
    from frontend.api.v1 import api as ninja_api
    from tests.factories import make_torrent

    _, key = searcher
    hidden = make_user("member")
    UserPrivacy.objects.update_or_create(user=hidden, defaults={"show_uploads": False})
    listed(name="Shown.Uploader.2024.1080p", uploader=uploader, seeders=4, leechers=2,
           snatches=9, metadata={"imdb_id": "tt0087799", "tmdb_id": 13155, "tvdb_id": 7})
    listed(name="Anonymous.Upload", uploader=uploader, is_anonymous=True,
           is_double_upload=True)
    listed(name="Hidden.Uploader", uploader=hidden, is_neutral_leech=True,
           metadata={"imdb_id": ""})
    free = listed(name="Freeleech.One", category="tv-hd", is_freeleech=True)
    listed(name="Hybrid.One", version="hybrid", is_featured=True)
    make_torrent(name="No.Statistics.Row")
    tag = TorrentTag.objects.create(name="remux")
    other = TorrentTag.objects.create(name="atmos")
    TorrentTagAssignment.objects.create(torrent=free, tag=tag, score=1)
    TorrentTagAssignment.objects.create(torrent=free, tag=other, score=3)
    for params in ({"per_page": 100}, {"sort": "seeders"}, {"q": "uploader"}):
        response = api(key).get("/api/v1/torrents", params)
        assert response.status_code == 200
        validated = TorrentPageOut.model_validate(response.json()).model_dump()
        rendered = ninja_api.renderer.render(response.wsgi_request, validated,
                                             response_status=200)
        assert response.content == rendered.encode(), params
        assert response["Content-Type"] == "application/json; charset=utf-8"
    rows = {r["name"]: r for r in api(key).get("/api/v1/torrents").json()["results"]}
    assert rows["Freeleech.One"]["tags"] == ["atmos", "remux"]  # best scored first
    assert rows["Freeleech.One"]["download_factor"] == 0.0
    assert rows["Hidden.Uploader"]["uploader"] is None
    assert rows["Anonymous.Upload"]["uploader"] is None
    assert rows["Shown.Uploader.2024.1080p"]["uploader"] == uploader.username
    assert rows["No.Statistics.Row"]["seeders"] == 0
