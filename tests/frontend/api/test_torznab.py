"""Torznab as Prowlarr, Sonarr and Radarr read it (shared/AUTOMATION.md): each test parses
the answer by the rule the client applies and asserts what the client would conclude."""

from __future__ import annotations

import io
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from xml.etree.ElementTree import Element

import bencodepy
import pytest
from defusedxml import ElementTree as ET
from django.test import Client
from django.utils import timezone

from domain.accounts.apikeys import api_key_revoke
from domain.accounts.models import ApiKey, UserStatus
from domain.bonus.models import FreeleechToken, TokenStatus
from domain.moderation.services import ban_issue
from tests.factories import make_user
from tests.frontend.api.conftest import bulk_torrents, key_for, listed

pytestmark = pytest.mark.django_db
TZ = "{http://torznab.com/schemas/2015/feed}"
NZ = "{http://www.newznab.com/DTD/2010/feeds/attributes/}"


def get(**params):
    return Client().get("/api/torznab", params)


def parse(response) -> Any:
    assert response["Content-Type"].startswith("application/xml")
    return ET.parse(io.BytesIO(response.content)).getroot()


def error_code(response) -> int:
    root = parse(response)
    assert root.tag == "error", response.content
    return int(root.get("code"))


def items(response) -> list[Any]:
    root = parse(response)
    assert root.tag == "rss", response.content
    return root.findall("./channel/item")


def val(element: Element | None, name: str) -> str:
    assert element is not None
    value = element.get(name)
    assert value is not None, name
    return value


def attrs(item: Element) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a in item.findall(f"{TZ}attr"):
        out.setdefault(val(a, "name"), []).append(val(a, "value"))
    return out


def titles(response) -> list[str]:
    return [i.findtext("title") or "" for i in items(response)]


def test_caps_as_prowlarr_sonarr_and_radarr_read_them():
    root = parse(get(t="caps"))
    limits = root.find("limits")
    assert int(limits.get("default")) == 100 and int(limits.get("max")) == 100
    searching = {e.tag: e for e in root.find("searching")}
    params = {tag: set(e.get("supportedParams").split(",")) for tag, e in searching.items()
              if e.get("available") == "yes"}
    # Sonarr's test: search with q, or tv-search with q/tvdbid plus season and ep.
    assert "q" in params["search"]
    assert {"q", "season", "ep", "tvdbid"} <= params["tv-search"]
    # Radarr's: movie-search with q/tmdbid/imdbid.
    assert {"q", "imdbid", "tmdbid"} <= params["movie-search"]
    assert {"music-search", "audio-search", "book-search"} <= params.keys()
    ids = {int(c.get("id")) for c in root.iter("category")} | \
        {int(c.get("id")) for c in root.iter("subcat")}
    assert {2000, 5000, 3000, 7000, 2040, 5040} <= ids
    assert any(i >= 100000 for i in ids)
    assert {t.get("name") for t in root.find("tags")} >= {"freeleech", "internal"}


def test_rss_feed_items_carry_every_attribute_the_clients_read(searcher, uploader):
    _, key = searcher
    listed(name="Some.Show.S01E02.1080p.WEB-DL", category="tv-hd", seeders=7, leechers=3,
           snatches=11, uploader=uploader,
           metadata={"imdb_id": "tt0111161", "tmdb_id": 278, "tvdb_id": 81189,
                     "languages": ["en"]})
    response = get(t="tvsearch", cat="5000,5040", apikey=key, extended="1")
    root = parse(response)
    assert root.find("channel") is not None
    (item,) = items(response)
    paging = root.find(f"./channel/{NZ}response")
    assert int(paging.get("offset")) == 0 and int(paging.get("total")) == 1
    enclosure = item.find("enclosure")
    assert enclosure.get("type") == "application/x-bittorrent"
    assert int(enclosure.get("length")) == 1_048_576
    assert item.findtext("comments").endswith("/")
    parsedate_to_datetime(item.findtext("pubDate"))  # RFC 822, or this raises
    a = attrs(item)
    assert int(a["size"][0]) == 1_048_576
    assert int(a["seeders"][0]) == 7 and int(a["peers"][0]) == 10
    assert int(a["grabs"][0]) == 11 and int(a["files"][0]) == 1
    assert int(a["imdb"][0]) == 111161 and a["imdbid"] == ["tt0111161"]
    assert a["tmdbid"] == ["278"] and a["tvdbid"] == ["81189"]
    assert len(a["infohash"][0]) == 40
    assert a["magneturl"][0].startswith("magnet:?xt=urn:btih:")
    assert a["downloadvolumefactor"] == ["1"] and a["uploadvolumefactor"] == ["1"]
    assert "5040" in a["category"] and any(int(c) >= 100000 for c in a["category"])
    assert a["language"] == ["en"]
    # The hit-and-run rule: settled by a ratio or by seed time (seconds).
    assert a["minimumratio"] == ["1"] and a["minimumseedtime"] == [str(72 * 3600)]


def test_rss_without_query_lists_the_latest_in_the_clients_categories(searcher):
    _, key = searcher
    listed(name="Old.Movie.2001.1080p", category="movies-hd")
    listed(name="New.Show.S02E01.720p", category="tv-hd")
    # Sonarr's connection test: t=tvsearch&cat=... with no q must return an item.
    assert titles(get(t="tvsearch", cat="5000,5030,5040", apikey=key)) == ["New.Show.S02E01.720p"]
    # Radarr's: t=movie with no q.
    assert titles(get(t="movie", cat="2000", apikey=key)) == ["Old.Movie.2001.1080p"]
    # No category: everything, newest first; unknown categories are skipped.
    assert titles(get(t="search", apikey=key)) == ["New.Show.S02E01.720p",
                                                    "Old.Movie.2001.1080p"]
    assert titles(get(t="search", cat="5040,99999", apikey=key)) == ["New.Show.S02E01.720p"]
    assert titles(get(t="search", cat="99999", apikey=key)) == []


def test_imdbid_in_both_forms_and_tmdbid(searcher):
    _, key = searcher
    listed(name="Shawshank.1994.1080p", metadata={"imdb_id": "tt0111161", "tmdb_id": 278})
    listed(name="Other.Film.2000.1080p", metadata={"imdb_id": "tt0133093", "tmdb_id": 603})
    assert titles(get(t="movie", imdbid="tt0111161", apikey=key)) == ["Shawshank.1994.1080p"]
    assert titles(get(t="movie", imdbid="0111161", apikey=key)) == ["Shawshank.1994.1080p"]
    assert titles(get(t="movie", imdbid="111161", apikey=key)) == ["Shawshank.1994.1080p"]
    assert titles(get(t="movie", tmdbid="603", apikey=key)) == ["Other.Film.2000.1080p"]
    assert error_code(get(t="movie", imdbid="nm0000001", apikey=key)) == 201


def test_tvsearch_season_episode_and_daily_shows(searcher):
    _, key = searcher
    for name in ("Show.S01E02.1080p", "Show.S01E03.1080p", "Show.S02E02.1080p",
                 "Show.S00E01.Special", "Daily.Show.2024.03.15.720p", "Daily.Show.2024.03.16"):
        listed(name=name, category="tv-hd", metadata={"tvdb_id": 42})
    assert titles(get(t="tvsearch", q="Show", season="1", ep="2", apikey=key)) == \
        ["Show.S01E02.1080p"]
    assert set(titles(get(t="tvsearch", tvdbid="42", season="1", apikey=key))) == \
        {"Show.S01E02.1080p", "Show.S01E03.1080p"}
    assert titles(get(t="tvsearch", tvdbid="42", season="00", apikey=key)) == \
        ["Show.S00E01.Special"]
    assert titles(get(t="tvsearch", tvdbid="42", season="2024", ep="03/15", apikey=key)) == \
        ["Daily.Show.2024.03.15.720p"]


def test_paging_as_sonarr_does_up_to_1000_results(searcher):
    _, key = searcher
    bulk_torrents(1050)
    seen: list[str] = []
    page = 0
    while True:
        response = get(t="tvsearch", cat="5040", apikey=key, limit="100",
                       offset=str(page * 100))
        got = items(response)
        total = int(val(parse(response).find(f"./channel/{NZ}response"), "total"))
        # Counted up to the cap (1,000), then "at least": never fewer than Sonarr reads.
        assert 1000 <= total <= 1050
        seen += [i.findtext("guid") or "" for i in got]
        page += 1
        # Sonarr pages while a page is full, up to 1,000 results.
        if len(got) < 100 or len(seen) >= 1000:
            break
    assert len(seen) == 1000 and len(set(seen)) == 1000
    assert len(items(get(t="search", apikey=key, limit="100", offset="1000"))) == 50
    assert items(get(t="search", apikey=key, limit="100", offset="5000")) == []
    # A limit above max is clamped, not refused.
    assert len(items(get(t="search", apikey=key, limit="500"))) == 100


def test_the_total_stops_counting_at_its_cap(searcher, monkeypatch):
    from frontend.api import torznab

    _, key = searcher
    bulk_torrents(30)
    monkeypatch.setattr(torznab, "TOTAL_MAX", 25)
    response = get(t="search", apikey=key, limit="10")
    assert int(val(parse(response).find(f"./channel/{NZ}response"), "total")) == 25
    assert len(items(response)) == 10


def test_error_codes(searcher, banned):
    _, key = searcher
    assert error_code(get(t="search")) == 100
    assert error_code(get(t="search", apikey="trk_" + "0" * 40)) == 100
    assert error_code(get(t="search", apikey="not-a-key")) == 100
    assert error_code(get(apikey=key)) == 200
    assert error_code(get(t="nzb", apikey=key)) == 202
    assert error_code(get(t="search", limit="ten", apikey=key)) == 201
    assert error_code(get(t="search", offset="-1", apikey=key)) == 201
    assert error_code(get(t="tvsearch", season="x", apikey=key)) == 201
    assert error_code(get(t="search", limit=str(2**40), apikey=key)) == 201
    assert error_code(get(t="search", q="a\x00b", apikey=key)) == 201


def test_a_banned_disabled_or_validating_members_key_is_refused(
        searcher, sysop, django_capture_on_commit_callbacks):
    user, key = searcher
    assert get(t="search", apikey=key).status_code == 200  # the "not banned" answer is cached
    with django_capture_on_commit_callbacks(execute=True):
        ban_issue(actor=sysop, ban_type="account", reason="cheating", user=user)
    response = get(t="search", apikey=key)
    assert error_code(response) == 101
    assert "cheating" in val(parse(response), "description")
    other = make_user("member")
    other_key = key_for(other)
    other.status = UserStatus.DISABLED
    other.save()
    assert error_code(get(t="search", apikey=other_key)) == 101
    validating = make_user("member")
    validating_key = key_for(validating)
    validating.status = UserStatus.VALIDATING
    validating.save()
    assert error_code(get(t="search", apikey=validating_key)) == 101


def test_a_revoked_key_is_refused_at_once(searcher):
    user, key = searcher
    assert items(get(t="search", apikey=key)) == []
    api_key_revoke(user=user, key_id=ApiKey.objects.get(user=user).pk)
    assert error_code(get(t="search", apikey=key)) == 100


def test_a_search_only_key_cannot_download(db):
    user = make_user("member")
    key = key_for(user, "search")
    torrent = listed(name="Film.2020.1080p")
    (item,) = items(get(t="search", apikey=key))
    assert "magneturl" not in attrs(item)  # a magnet with the passkey is a download
    response = Client().get(val(item.find("enclosure"), "url"))
    assert response.status_code == 403
    assert int(val(ET.fromstring(response.content), "code")) == 102
    assert torrent.pk


def test_a_download_only_key_cannot_search(db):
    key = key_for(make_user("member"), "download")
    assert error_code(get(t="search", apikey=key)) == 102


def test_the_enclosure_downloads_with_the_key_alone(searcher):
    user, key = searcher
    torrent = listed(name="Film.2021.1080p")
    (item,) = items(get(t="search", apikey=key))
    response = Client().get(val(item.find("enclosure"), "url"))  # no session, no header
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-bittorrent"
    meta = bencodepy.decode(response.content)
    assert user.passkey.encode() in meta[b"announce"]
    assert bencodepy.encode(meta[b"info"]) == bytes(torrent.info_dict)


def test_volume_factors_follow_freeleech_neutral_double_and_tokens(searcher):
    user, key = searcher
    listed(name="Free", is_freeleech=True)
    listed(name="FreeEnded", is_freeleech=True,
           freeleech_until=timezone.now() - timedelta(hours=1))
    listed(name="Neutral", is_neutral_leech=True)
    listed(name="Double", is_double_upload=True)
    tokened = listed(name="Tokened")
    FreeleechToken.objects.create(user=user, torrent=tokened, status=TokenStatus.ACTIVE,
                                  activated_at=timezone.now(),
                                  expires_at=timezone.now() + timedelta(days=1))
    other = make_user("member")
    FreeleechToken.objects.create(user=other, torrent=listed(name="OthersToken"),
                                  status=TokenStatus.ACTIVE, activated_at=timezone.now(),
                                  expires_at=timezone.now() + timedelta(days=1))
    factors = {i.findtext("title"): (attrs(i)["downloadvolumefactor"][0],
                                     attrs(i)["uploadvolumefactor"][0], attrs(i).get("tag", []))
               for i in items(get(t="search", apikey=key))}
    assert factors["Free"] == ("0", "1", ["freeleech"])
    assert factors["FreeEnded"] == ("1", "1", [])
    assert factors["Neutral"] == ("0", "0", ["neutral"])
    assert factors["Double"] == ("1", "2", ["doubleupload"])
    assert factors["Tokened"][:2] == ("0", "1")
    assert factors["OthersToken"][:2] == ("1", "1")


def test_pending_torrents_of_others_are_not_listed(searcher, uploader):
    _, key = searcher
    listed(name="Pending.Upload", status="pending", uploader=uploader)
    listed(name="Approved.Upload", uploader=uploader)
    assert titles(get(t="search", apikey=key)) == ["Approved.Upload"]


def test_request_limit_answers_429_with_retry_after(searcher, settings):
    _, key = searcher
    settings.API_RATE_PER_KEY = 2
    assert get(t="search", apikey=key).status_code == 200
    assert get(t="search", apikey=key).status_code == 200
    response = get(t="search", apikey=key)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= settings.API_RATE_WINDOW_SECONDS
    root = parse(response)
    assert root.get("code") == "500" and root.get("description") == "Request limit reached"


def test_caps_needs_no_key_but_counts_against_the_address(db, settings):
    settings.API_RATE_PER_IP = 2
    assert parse(get(t="caps")).tag == "caps"
    assert parse(get(t="caps")).tag == "caps"
    limited = get(t="caps")
    assert limited.status_code == 429 and error_code(limited) == 500


def test_key_in_header_works_and_links_carry_it(searcher):
    _, key = searcher
    listed(name="Film.2022")
    response = Client().get("/api/torznab", {"t": "search"}, HTTP_X_API_KEY=key)
    (item,) = items(response)
    assert f"apikey={key}" in val(item.find("enclosure"), "url")
    response = Client().get("/api/torznab/api", {"t": "search"},
                            HTTP_AUTHORIZATION=f"Bearer {key}")
    assert len(items(response)) == 1
