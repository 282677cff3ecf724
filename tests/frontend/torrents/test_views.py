"""Torrent pages as a member sees them: upload, browse, search, detail, download, feed,
moderation, tags and comments."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import bencodepy
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from domain.accounts.models import UserPrivacy
from domain.catalog.models import Comment, Torrent, TorrentCategory, TorrentFile
from domain.catalog.services import feed_token_get, torrent_tag_add
from domain.moderation.models import Ban
from domain.tracker.models import TorrentStatistics
from tests.domain.catalog.factories import libtorrent_hashes, libtorrent_make
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload_form(data: bytes, **extra):
    return {"torrent_file": SimpleUploadedFile("x.torrent", data,
                                               content_type="application/x-bittorrent"),
            "category": TorrentCategory.objects.get(slug="movies-hd").pk, **extra}


@pytest.mark.parametrize("version", ["v1", "v2", "hybrid"])
def test_upload_browse_search_and_download_end_to_end(version, settings):
    """Done means: a real tool's torrent uploads, shows in browse and search, and the
    member's download has their passkey and the uploaded info hashes."""
    settings.SITE_URL = "https://t.example.test"
    uploader, member = make_user("uploader"), make_user("member")
    raw = libtorrent_make(version, name="Night.Of.The.Comet.1984.1080p")

    response = login(uploader).post("/torrents/upload/", upload_form(
        raw, title="Night.Of.The.Comet.1984.1080p.BluRay-GRP", tags="horror, 1980s",
        resolution="1080p", imdb_id="tt0087799"))

    torrent = Torrent.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/torrents/{torrent.pk}/"
    client = login(member)
    browse = client.get("/torrents/").content.decode()
    assert "Night.Of.The.Comet.1984.1080p.BluRay-GRP" in browse
    search = client.get("/torrents/", {"q": "night comet"}).content.decode()
    assert f'data-id="{torrent.pk}"' in search
    typo = client.get("/torrents/", {"q": "Nigth of the Commet"}).content.decode()
    assert f'data-id="{torrent.pk}"' in typo
    detail = client.get(f"/torrents/{torrent.pk}/").content.decode()
    assert "tt0087799" in detail and "https://www.imdb.com/title/tt0087799/" in detail
    assert "horror" in detail and uploader.username in detail

    download = client.get(f"/torrents/{torrent.pk}/download/")

    assert download["Content-Type"] == "application/x-bittorrent"
    assert libtorrent_hashes(download.content) == libtorrent_hashes(raw)
    assert bencodepy.decode(download.content)[b"announce"] == (
        f"https://t.example.test/announce/{member.passkey}".encode())


def test_mktorrent_style_v1_single_file_uploads():
    # mktorrent -p writes a single-file v1 torrent: length + pieces, no file list.
    raw = libtorrent_make("v1", name="single", files={"only.iso": 50_000})
    response = login(make_user("uploader")).post("/torrents/upload/", upload_form(raw))
    assert response.status_code == 302
    assert list(TorrentFile.objects.values_list("path", flat=True)) == ["only.iso"]


def test_bad_torrent_shows_a_field_error_and_saves_nothing(uploader):
    response = login(uploader).post("/torrents/upload/", upload_form(b"hello"))

    assert response.status_code == 400
    assert "not bencoded data" in response.content.decode()
    assert Torrent.objects.count() == 0


def test_oversize_upload_is_refused_by_the_form(uploader, settings):
    settings.TORRENT_UPLOAD_MAX_BYTES = 100
    response = login(uploader).post("/torrents/upload/", upload_form(libtorrent_make("v1")))

    assert response.status_code == 400
    assert "larger than 100 bytes" in response.content.decode()
    assert Torrent.objects.count() == 0


def test_duplicate_upload_is_refused_on_the_form(uploader):
    raw = libtorrent_make("v1")
    login(uploader).post("/torrents/upload/", upload_form(raw))
    response = login(make_user("uploader")).post("/torrents/upload/", upload_form(raw))
    assert response.status_code == 400
    assert "already on the site" in response.content.decode()


def test_upload_banned_member_gets_a_403_page(member):
    Ban.objects.create(ban_type="upload", user=member, reason="fakes")
    response = login(member).post("/torrents/upload/", upload_form(libtorrent_make("v1")))
    assert response.status_code == 403
    assert "banned from uploading" in response.content.decode()


def test_description_is_sanitized_and_comments_escaped(uploader, member):
    torrent = make_torrent(uploader=uploader, description=(
        '<p>Nice <b>film</b></p><script>alert(1)</script><img src=x onerror=alert(2)>'
        '<a href="javascript:alert(3)">x</a><a href="https://ok.example/">ok</a>'))
    Comment.objects.create(target_type="torrent", target_id=torrent.pk, author=member,
                           body="<script>alert(4)</script>")

    html = login(member).get(f"/torrents/{torrent.pk}/").content.decode()

    assert "<b>film</b>" in html
    assert "alert(1)" not in html and "onerror" not in html and "javascript:" not in html
    assert 'href="https://ok.example/"' in html
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in html


def test_pending_torrent_is_hidden_from_members_but_not_from_uploader_or_staff(moderator):
    owner, other = make_user("member"), make_user("member")
    torrent = make_torrent(uploader=owner, status="pending")

    assert login(other).get(f"/torrents/{torrent.pk}/").status_code == 404
    assert login(other).get(f"/torrents/{torrent.pk}/download/").status_code == 404
    assert f'data-id="{torrent.pk}"' not in login(other).get("/torrents/").content.decode()
    assert login(owner).get(f"/torrents/{torrent.pk}/").status_code == 200
    page = login(moderator).get(f"/torrents/{torrent.pk}/").content.decode()
    assert "Approve" in page


def test_moderation_through_the_page(moderator):
    owner = make_user("member")
    torrent = make_torrent(uploader=owner, status="pending")

    denied = login(owner).post(f"/torrents/{torrent.pk}/moderate/", {"decision": "approve"})
    no_reason = login(moderator).post(f"/torrents/{torrent.pk}/moderate/",
                                      {"decision": "reject"})
    approved = login(moderator).post(f"/torrents/{torrent.pk}/moderate/",
                                     {"decision": "approve"})

    assert denied.status_code == 403
    assert no_reason.status_code == 400 and "Give a reason" in no_reason.content.decode()
    assert approved.status_code == 302
    assert Torrent.objects.get(pk=torrent.pk).status == "approved"


def test_download_refused_for_download_ban_and_anonymous(uploader, member):
    torrent = make_torrent(uploader=uploader)
    Ban.objects.create(ban_type="download", user=member, reason="ratio")

    assert login(member).get(f"/torrents/{torrent.pk}/download/").status_code == 403
    assert Client().get(f"/torrents/{torrent.pk}/download/").status_code == 302


def test_browse_filters_and_sorts(member, uploader):
    hd = make_torrent(uploader=uploader, name="Alpha", size=5_000)
    sd = make_torrent(uploader=uploader, name="Beta", size=9_000,
                      category=TorrentCategory.objects.get(slug="tv-sd"), is_freeleech=True)
    TorrentStatistics.objects.create(torrent=hd, seeders=50, leechers=1, snatches=3)
    TorrentStatistics.objects.create(torrent=sd, seeders=5, leechers=9, snatches=30)
    torrent_tag_add(user=member, torrent_id=sd.pk, name="Comedy")
    client = login(member)

    def names(**params):
        html = client.get("/torrents/", params).content.decode()
        return re.findall(r'<a href="/torrents/[0-9a-f]{8}-[0-9a-f-]+/">([^<]+)</a>', html)

    assert names(category="movies") == ["Alpha"]
    assert names(category="tv-sd") == ["Beta"]
    assert names(tags="comedy") == ["Beta"]
    assert names(freeleech="on") == ["Beta"]
    assert names(sort="seeders") == ["Alpha", "Beta"]
    assert names(sort="leechers") == ["Beta", "Alpha"]
    assert names(sort="snatches") == ["Beta", "Alpha"]
    assert names(sort="size", order="asc") == ["Alpha", "Beta"]
    assert names(sort="bogus", order="sideways")  # bad input falls back, never a 500


def test_uploader_filter_and_column_respect_paranoia(member):
    open_up, shy = make_user("uploader"), make_user("uploader")
    UserPrivacy.objects.update_or_create(user=shy, defaults={"show_uploads": False})
    make_torrent(uploader=open_up, name="Open")
    make_torrent(uploader=open_up, name="Anon", is_anonymous=True)
    make_torrent(uploader=shy, name="Shy")
    client = login(member)

    by_open = client.get("/torrents/", {"uploader": open_up.username}).content.decode()
    by_shy = client.get("/torrents/", {"uploader": shy.username}).content.decode()
    everything = client.get("/torrents/").content.decode()

    assert "Open" in by_open and "Anon" not in by_open
    assert "Shy" not in by_shy
    assert shy.username not in everything
    assert everything.count(f'/users/{open_up.username}/">{open_up.username}</a>') == 1
    own = login(shy).get("/torrents/", {"uploader": shy.username}).content.decode()
    assert "Shy" in own


def test_browse_query_count_does_not_grow_with_the_page(member, uploader,
                                                        django_assert_max_num_queries):
    for i in range(30):
        t = make_torrent(uploader=uploader, name=f"Bulk.{i}")
        TorrentStatistics.objects.create(torrent=t, seeders=i)
        torrent_tag_add(user=uploader, torrent_id=t.pk, name=f"tag{i % 3}")
    client = login(member)
    client.get("/torrents/")  # warm the session and ban caches

    # 8 for the page, 1 for the header's unread badges (context_processors.header_unread),
    # 1 for the search's bounded look at how many full-text matches there are.
    with django_assert_max_num_queries(10):
        response = client.get("/torrents/", {"sort": "seeders", "q": "bulk"})

    assert response.content.decode().count('class="torrent-row"') == 30


def test_pagination(member, uploader, settings):
    settings.TORRENTS_PER_PAGE = 2
    for i in range(5):
        make_torrent(uploader=uploader, name=f"P{i}")
    client = login(member)

    page3 = client.get("/torrents/", {"page": 3}).content.decode()
    assert page3.count('class="torrent-row"') == 1 and "Page 3 of 3" in page3
    assert client.get("/torrents/", {"page": "x"}).status_code == 200


def test_browse_counts_up_to_a_cap_and_pages_on_past_it(member, uploader, settings,
                                                       django_assert_max_num_queries):
    """BROWSE_COUNT_CAP bounds the count (one query, LIMIT past the page): "4+" and a Next
    link past the cap, every page reachable by Next, the last one exact; a filter with few
    matches counts them exactly."""
    settings.TORRENTS_PER_PAGE = 2
    settings.BROWSE_COUNT_CAP = 4
    for i in range(7):
        make_torrent(uploader=uploader, name=f"P{i}")
    make_torrent(uploader=uploader, name="Odd", category=TorrentCategory.objects.get(
        slug="tv-sd"))
    client = login(member)
    client.get("/torrents/")

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        first = client.get("/torrents/").content.decode()
    counts = [q["sql"] for q in captured.captured_queries if "COUNT(*)" in q["sql"]]
    assert len(counts) == 1 and "LIMIT 5" in counts[0]
    assert "Page 1 of 3+" in first and "4+ torrents" in first and 'rel="next"' in first
    seen, page, html = [], 1, first
    while True:
        seen += re.findall(r'<a href="/torrents/[0-9a-f-]+/">(P\d|Odd)</a>', html)
        if 'rel="next"' not in html:
            break
        page += 1
        html = client.get("/torrents/", {"page": page}).content.decode()
    assert page == 4 and len(seen) == 8 and len(set(seen)) == 8
    assert "Page 4 of 4<" in html and "8 torrents" in html
    one = client.get("/torrents/", {"category": "tv-sd"}).content.decode()
    assert "Page 1 of 1<" in one and "1 torrent<" in one
    settings.BROWSE_COUNT_CAP = 0  # exact, as before
    assert "Page 1 of 4<" in client.get("/torrents/").content.decode()


def test_tags_and_votes_through_the_page(uploader, member):
    torrent = make_torrent(uploader=uploader)
    client = login(member)

    client.post(f"/torrents/{torrent.pk}/tags/", {"tag": "Film Noir"})
    assignment = torrent.tag_assignments.get()
    client.post(f"/torrents/{torrent.pk}/tags/{assignment.pk}/vote/", {"vote": "-1"})
    bad = client.post(f"/torrents/{torrent.pk}/tags/{assignment.pk}/vote/", {"vote": "7"})

    assignment.refresh_from_db()
    assert assignment.tag.name == "film.noir" and assignment.score == -1
    assert bad.status_code == 400


def test_comments_post_quote_edit_and_staff_delete(uploader, member, moderator):
    torrent = make_torrent(uploader=uploader)
    client = login(member)

    client.post(f"/torrents/{torrent.pk}/comments/", {"body": "first!"})
    first = Comment.objects.get()
    client.post(f"/torrents/{torrent.pk}/comments/", {"body": "me too", "quoted": first.pk})
    client.post(f"/comments/{first.pk}/edit/", {"body": "first (edited)"})
    other_edit = login(uploader).post(f"/comments/{first.pk}/edit/", {"body": "x"})
    member_delete = client.post(f"/comments/{first.pk}/delete/")
    empty = client.post(f"/torrents/{torrent.pk}/comments/", {"body": ""})

    first.refresh_from_db()
    assert first.body == "first (edited)" and first.edit_count == 1
    assert other_edit.status_code == 404
    assert member_delete.status_code == 403
    assert empty.status_code == 400
    page = login(uploader).get(f"/torrents/{torrent.pk}/").content.decode()
    assert "first (edited)" in page and 'class="quote"' in page

    login(moderator).post(f"/comments/{first.pk}/delete/")
    page = login(uploader).get(f"/torrents/{torrent.pk}/").content.decode()
    assert "first (edited)" not in page


def test_edit_page(uploader, member):
    torrent = make_torrent(uploader=uploader)
    cat = torrent.category_id

    assert login(member).get(f"/torrents/{torrent.pk}/edit/").status_code == 403
    response = login(uploader).post(f"/torrents/{torrent.pk}/edit/", {
        "title": "Renamed", "category": cat, "description": "new", "resolution": "720p"})
    assert response.status_code == 302
    torrent.refresh_from_db()
    assert torrent.name == "Renamed" and torrent.metadata.resolution == "720p"
    bad = login(uploader).post(f"/torrents/{torrent.pk}/edit/", {
        "title": "", "category": cat, "imdb_id": "nope"})
    assert bad.status_code == 400 and "tt0123456" in bad.content.decode()


def test_rss_feed_with_token_and_download_links_for_clients(uploader, settings):
    settings.SITE_URL = "https://t.example.test"
    reader = make_user("member")
    token = feed_token_get(user=reader)
    raw = libtorrent_make("hybrid")
    login(uploader).post("/torrents/upload/", upload_form(raw, title="Feed.Me"))
    make_torrent(uploader=uploader, name="Hidden.Pending", status="pending")
    make_torrent(uploader=uploader, name="Other.Category",
                 category=TorrentCategory.objects.get(slug="music-flac"))

    rss_client = Client()  # a torrent client's RSS reader: no session
    feed = rss_client.get(f"/rss/{token}/", {"category": "movies"})

    assert feed["Content-Type"].startswith("application/rss+xml")
    # Our own response, not untrusted input.
    items = ElementTree.fromstring(feed.content).findall("./channel/item")  # noqa: S314
    assert [i.findtext("title") for i in items] == ["Feed.Me"]
    link = items[0].findtext("link")
    enclosure = items[0].find("enclosure")
    assert enclosure is not None
    assert link == enclosure.get("url")
    assert link is not None
    download = rss_client.get(link.replace("http://testserver", ""))
    assert libtorrent_hashes(download.content) == libtorrent_hashes(raw)
    assert reader.passkey.encode() in download.content

    assert rss_client.get("/rss/not-a-token/").status_code == 404
    assert rss_client.get(f"/rss/{reader.passkey}/").status_code == 404


def test_feed_token_reset_invalidates_the_old_link(member):
    client = login(member)
    page = client.get("/torrents/feed/").content.decode()
    old_match = re.search(r"/rss/([0-9a-f]{40})/", page)
    assert old_match is not None
    old = old_match.group(1)

    client.post("/torrents/feed/")

    assert Client().get(f"/rss/{old}/").status_code == 404
    new_match = re.search(r"/rss/([0-9a-f]{40})/",
                          client.get("/torrents/feed/").content.decode())
    assert new_match is not None
    new = new_match.group(1)
    assert new != old and Client().get(f"/rss/{new}/").status_code == 200


def test_feed_refused_once_the_member_is_banned(member, uploader):
    token = feed_token_get(user=member)
    torrent = make_torrent(uploader=uploader)
    member.status = "banned"
    member.save()

    assert Client().get(f"/rss/{token}/").status_code == 403
    assert Client().get(f"/rss/{token}/{torrent.pk}.torrent").status_code == 403


def test_oversize_request_body_is_refused_before_parsing(uploader, settings):
    settings.TORRENT_UPLOAD_MAX_BYTES = 1000
    data = libtorrent_make("v1", files={f"f{i}.bin": 20 for i in range(3000)})
    assert len(data) > 1000 + 65536

    response = login(uploader).post("/torrents/upload/", upload_form(data))

    assert response.status_code == 400
    assert "upload is too large" in response.content.decode()
    assert Torrent.objects.count() == 0


def test_torrent_page_names_the_uploader_paranoia_permitting(member, moderator):
    shy = make_user("uploader")
    UserPrivacy.objects.update_or_create(user=shy, defaults={"show_uploads": False})
    hidden = make_torrent(uploader=shy, name="Shy.One")
    anonymous = make_torrent(uploader=make_user("uploader"), name="Anon.One",
                             is_anonymous=True)

    for torrent in (hidden, anonymous):
        page = login(member).get(f"/torrents/{torrent.pk}/").content.decode()
        assert '<dd class="uploader">Anonymous</dd>' in page
        staff_page = login(moderator).get(f"/torrents/{torrent.pk}/").content.decode()
        name = torrent.uploader.username
        assert (f'<dd class="uploader"><a class="member" href="/users/{name}/">{name}</a></dd>'
                in staff_page)
    own = login(shy).get(f"/torrents/{hidden.pk}/").content.decode()
    assert (f'<dd class="uploader"><a class="member" href="/users/{shy.username}/">'
            f'{shy.username}</a></dd>' in own)


@pytest.mark.django_db
def test_torrent_page_wires_live_counts_and_offers_a_freeleech_token(client, member):
    """The page marks its counts for js/peers.js and posts a token to the bonus store."""
    from domain.bonus.models import FreeleechToken
    from domain.tracker.models import TorrentStatistics
    from tests.factories import make_torrent as build

    torrent = build()
    TorrentStatistics.objects.create(torrent=torrent, seeders=4, leechers=2, snatches=9)
    FreeleechToken.objects.create(user=member)
    client.force_login(member)
    page = client.get(f"/torrents/{torrent.pk}/").content.decode()
    assert f'data-live-peers="{torrent.pk}"' in page
    assert "js/peers.js" in page
    assert re.search(r"data-seeders>\s*4<", page)
    response = client.post("/bonus/tokens/use/", {"torrent": str(torrent.pk)})
    assert response.status_code == 302
    token = FreeleechToken.objects.get(user=member)
    assert (token.status, token.torrent_id) == ("active", torrent.pk)


@pytest.mark.parametrize("refusal", ["account_ban", "ip_ban", "disabled"])
def test_rss_feed_and_its_downloads_follow_bans_and_site_access(uploader, sysop, refusal,
                                                                django_capture_on_commit_callbacks):
    """A feed link stands for its member: an account ban, a banned address or a disabled
    account ends what it gives, like a login (the check was is_active alone)."""
    from domain.accounts.models import UserStatus
    from domain.moderation.services import ban_issue

    reader = make_user("member")
    token = feed_token_get(user=reader)
    torrent = make_torrent(uploader=uploader, name="Feed.Banned")
    reader_ip = "198.51.100.44"
    rss_client = Client(REMOTE_ADDR=reader_ip)
    assert rss_client.get(f"/rss/{token}/").status_code == 200
    assert rss_client.get(f"/rss/{token}/{torrent.pk}.torrent").status_code == 200

    if refusal == "account_ban":
        with django_capture_on_commit_callbacks(execute=True):  # the ban caches drop
            ban_issue(actor=sysop, ban_type="account", user=reader, reason="cheating")
    elif refusal == "ip_ban":
        with django_capture_on_commit_callbacks(execute=True):
            ban_issue(actor=sysop, ban_type="ip", ip_range=f"{reader_ip}/32", reason="spam")
    else:
        reader.status = UserStatus.DISABLED
        reader.save(update_fields=["status"])

    feed = rss_client.get(f"/rss/{token}/")
    download = rss_client.get(f"/rss/{token}/{torrent.pk}.torrent")
    assert feed.status_code == 403 and download.status_code == 403
    assert b"d8:announce" not in download.content
