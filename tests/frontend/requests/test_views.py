"""Request pages as members see them: browse with filters, file, add bounty, fill, unfill,
delete and comment; bad input shows field errors and moves nothing; every action is
checked server-side per persona."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from domain.accounts.models import User
from domain.catalog.models import Comment, TorrentCategory, TorrentRequest
from domain.catalog.requests import request_create, request_fill
from domain.community.models import Notification
from domain.moderation.models import Ban
from tests.domain.bonus.factories import fund
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_verified() -> Iterator[None]:
    yield
    call_command("bonus_verify_ledger")


@pytest.fixture(autouse=True)
def request_settings(settings):
    settings.REQUEST_MIN_BOUNTY = "100"


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hd() -> TorrentCategory:
    return TorrentCategory.objects.get(slug="movies-hd")


def balance(user: User) -> Decimal:
    return User.objects.get(pk=user.pk).bonus_points


def field_error(html: str, field: str) -> str:
    match = re.search(rf'data-field="{field}">([^<]+)<', html)
    assert match, f"no error shown on {field}"
    return match.group(1)


def make_request(user: User, bounty: str = "100", title: str = "Alien 1979 Remux"
                 ) -> TorrentRequest:
    fund(user, bounty)
    return request_create(requester=user, category_id=hd().pk, title=title, bounty=bounty)


def test_file_a_request_through_the_form(member):
    fund(member, 500)
    client = login(member)
    assert client.get("/requests/new/").status_code == 200

    response = client.post("/requests/new/", {
        "title": "Night of the Comet 1984", "category": hd().pk, "bounty": "250",
        "description": "<b>Blu-ray</b><script>alert(1)</script>", "resolution": "1080p",
        "imdb_id": "tt0087799"})

    created = TorrentRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/requests/{created.pk}/"
    assert balance(member) == Decimal("250")
    page = client.get(response["Location"]).content.decode()
    assert "Night of the Comet 1984" in page and "1080p" in page and "tt0087799" in page
    assert "<b>Blu-ray</b>" in page and "<script>" not in page
    listing = client.get("/requests/").content.decode()
    assert f'data-id="{created.pk}"' in listing


def test_the_forms_offer_the_details_by_category(member):
    """The create form says which categories each detail is for and refuses one the
    category has not; a music request's edit form has no video fields at all."""
    fund(member, 500)
    client = login(member)
    html = client.get("/requests/new/").content.decode()
    assert "For Movies, TV Shows, Anime, XXX." in html  # resolution, video codec
    assert "For Music." in html  # MusicBrainz
    flac = TorrentCategory.objects.get(slug="music-flac")
    refused = client.post("/requests/new/", {"title": "An album", "category": flac.pk,
                                             "bounty": "100", "video_codec": "x264"})
    assert refused.status_code == 400
    assert "Music requests do not name a video codec" in field_error(
        refused.content.decode(), "video_codec")
    assert not TorrentRequest.objects.exists()
    client.post("/requests/new/", {"title": "An album", "category": flac.pk,
                                   "bounty": "100", "format": "FLAC"})
    req = TorrentRequest.objects.get()
    edit = client.get(f"/requests/{req.pk}/edit/").content.decode()
    assert 'name="format"' in edit and 'name="musicbrainz_id"' in edit
    assert 'name="video_codec"' not in edit and 'name="resolution"' not in edit
    saved = client.post(f"/requests/{req.pk}/edit/", {"title": "An album (2020)",
                                                      "format": "FLAC", "year": "2020"})
    assert saved.status_code == 302
    req.refresh_from_db()
    assert req.requirements == {"format": "FLAC", "year": 2020}


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"bounty": "50"}, "bounty", "least bounty is 100"),
    ({"bounty": "5000"}, "bounty", "costs 5,000 points and you have 300.00"),
    ({"bounty": "abc"}, "bounty", "Enter a number"),
    ({"title": ""}, "title", "required"),
    ({"imdb_id": "0087799"}, "imdb_id", "tt0087799"),
    ({"category": "nope"}, "category", "not a valid UUID"),
])
def test_the_create_form_shows_field_errors_and_moves_nothing(member, data, field, message):
    fund(member, 300)
    form = {"title": "Something", "category": hd().pk, "bounty": "100", **data}

    response = login(member).post("/requests/new/", form)

    html = response.content.decode()
    assert response.status_code == 400
    assert message in field_error(html, field)
    assert not TorrentRequest.objects.exists() and balance(member) == Decimal("300")


def test_add_bounty_and_its_refusals_on_the_page(member):
    req = make_request(make_user())
    client = login(member)
    fund(member, 150)

    too_small = client.post(f"/requests/{req.pk}/vote/", {"amount": "10"})
    assert too_small.status_code == 400
    assert "least bounty is 100" in field_error(too_small.content.decode(), "amount")
    too_much = client.post(f"/requests/{req.pk}/vote/", {"amount": "200"})
    assert "you have 150.00" in field_error(too_much.content.decode(), "amount")
    assert balance(member) == Decimal("150")

    ok = client.post(f"/requests/{req.pk}/vote/", {"amount": "150"})
    assert ok.status_code == 302
    page = client.get(f"/requests/{req.pk}/").content.decode()
    assert re.search(r'class="bounty">250.00<', page)
    assert f'/users/{member.username}/">{member.username}</a> (you)' in page


def test_fill_from_the_page_and_refusals(member, uploader):
    req = make_request(member, "300")
    client = login(uploader)
    pending = make_torrent(uploader=uploader, status="pending")
    flac = make_torrent(uploader=uploader,
                        category=TorrentCategory.objects.get(slug="music-flac"))

    for ref, message in [("nope", "no such torrent"), (str(pending.pk), "not approved"),
                         (str(flac.pk), "this request asks for Movies / HD")]:
        response = client.post(f"/requests/{req.pk}/fill/", {"torrent": ref})
        assert response.status_code == 400
        assert message in field_error(response.content.decode(), "torrent")
    assert TorrentRequest.objects.get(pk=req.pk).status == "open"

    good = make_torrent(uploader=uploader, name="Alien.1979.Remux-GRP")
    response = client.post(f"/requests/{req.pk}/fill/",
                           {"torrent": f"http://testserver/torrents/{good.pk}/"})
    assert response.status_code == 302
    page = login(member).get(f"/requests/{req.pk}/").content.decode()
    assert "Alien.1979.Remux-GRP" in page and uploader.username in page
    assert 'class="status">Filled<' in page
    assert Notification.objects.filter(user=member, target_id=req.pk).exists()
    assert balance(uploader) == Decimal("300")
    # Filled: no more bounty, and a second fill is refused on the form.
    again = client.post(f"/requests/{req.pk}/fill/", {"torrent": str(good.pk)})
    assert again.status_code == 400
    vote = login(make_user()).post(f"/requests/{req.pk}/vote/", {"amount": "100"})
    assert vote.status_code == 400 and "filled" in vote.content.decode()


def test_unfill_and_delete_from_the_page(member, uploader, moderator):
    req = make_request(member, "200")
    request_fill(filler=uploader, request_id=req.pk, torrent=str(make_torrent().pk))
    outsider = make_user()

    assert login(outsider).post(f"/requests/{req.pk}/unfill/",
                                {"reason": "x"}).status_code == 403
    empty = login(member).post(f"/requests/{req.pk}/unfill/", {"reason": ""})
    assert empty.status_code == 400 and field_error(empty.content.decode(), "reason")
    assert login(member).post(f"/requests/{req.pk}/unfill/",
                              {"reason": "Wrong cut"}).status_code == 302
    assert balance(uploader) == Decimal("0")

    assert login(member).post(f"/requests/{req.pk}/delete/",
                              {"reason": "x"}).status_code == 403
    response = login(moderator).post(f"/requests/{req.pk}/delete/", {"reason": "Dupe"})
    assert response.status_code == 302 and balance(member) == Decimal("200")
    assert login(member).get(f"/requests/{req.pk}/").status_code == 404


def test_comments_on_a_request_page(member):
    req = make_request(member)
    other = make_user()
    client = login(other)

    assert client.post(f"/requests/{req.pk}/comments/", {"body": ""}).status_code == 400
    response = client.post(f"/requests/{req.pk}/comments/", {"body": "Me too"})
    comment = Comment.objects.get()
    assert response["Location"] == f"/requests/{req.pk}/#comment-{comment.pk}"
    assert "Me too" in login(member).get(f"/requests/{req.pk}/").content.decode()
    edit = client.post(f"/comments/{comment.pk}/edit/", {"body": "Me too, 1080p"})
    assert edit["Location"] == f"/requests/{req.pk}/#comment-{comment.pk}"


def test_browse_filters_through_the_page(member):
    make_request(member, "100", "Alien 1979")
    rich = make_request(member, "900", "Aliens 1986")
    client = login(member)

    html = client.get("/requests/", {"q": "aliens", "sort": "bounty"}).content.decode()
    assert re.findall(r'data-id="([^"]+)"', html) == [str(rich.pk)]
    bad = client.get("/requests/", {"bounty_min": "lots", "page": "-1"})
    assert bad.status_code == 400 and "bounty_min" in bad.content.decode()
    assert client.get("/requests/", {"q": "\x00"}).status_code in (200, 400)


def test_browse_counts_up_to_a_cap_and_pages_on_past_it(member, settings):
    """The requests page counts as the torrents page does: "4+" past BROWSE_COUNT_CAP with
    a Next link, every request reachable, the last page's count exact, filters exact."""
    settings.REQUESTS_PER_PAGE = 2
    settings.BROWSE_COUNT_CAP = 4
    category = TorrentCategory.objects.get(slug="movies-hd")
    made = [TorrentRequest.objects.create(requester=member, category=category,
                                          title=f"Want {i}", bounty_total=100 + i)
            for i in range(7)]
    client = login(member)

    first = client.get("/requests/", {"sort": "bounty"}).content.decode()
    assert "Page 1 of 3+" in first and "4+ requests" in first
    seen, page, html = [], 1, first
    while True:
        seen += re.findall(r'data-id="([^"]+)"', html)
        if 'rel="next"' not in html:
            break
        page += 1
        html = client.get("/requests/", {"sort": "bounty", "page": str(page)}).content.decode()
    assert seen == [str(r.pk) for r in reversed(made)]
    assert page == 4 and "Page 4 of 4<" in html and "7 requests" in html
    few = client.get("/requests/", {"bounty_min": "105"}).content.decode()
    assert "Page 1 of 1<" in few and "2 requests" in few
    last = client.get("/requests/", {"page": "99"}).content.decode()  # past the end
    assert "Page 4 of 4<" in last and len(re.findall(r'data-id="([^"]+)"', last)) == 1


@pytest.mark.parametrize("persona", ["member", "power_user", "uploader", "moderator",
                                     "upload_banned", "banned", "anonymous"])
def test_permissions_per_persona(persona):
    req = make_request(make_user(), "100")
    torrent = make_torrent()
    if persona == "anonymous":
        client = Client()
        user = None
    else:
        user = make_user("member" if persona == "upload_banned" else persona)
        if persona == "upload_banned":
            Ban.objects.create(ban_type="upload", user=user, reason="fakes")
        fund(user, 1000)
        client = login(user)
    pages = [client.get("/requests/"), client.get(f"/requests/{req.pk}/"),
             client.get("/requests/new/")]
    vote = client.post(f"/requests/{req.pk}/vote/", {"amount": "100"})
    fill = client.post(f"/requests/{req.pk}/fill/", {"torrent": str(torrent.pk)})
    delete = client.post(f"/requests/{req.pk}/delete/", {"reason": "r"})

    if persona == "anonymous":
        assert all(r.status_code == 302 and "/login/" in r["Location"]
                   for r in [*pages, vote, fill, delete])
        return
    assert user is not None
    if persona == "banned":  # a banned account may do nothing at all
        for response in [*pages, vote, fill, delete]:
            assert response.status_code == 403 or response["Location"].startswith("/login/")
        req.refresh_from_db()
        assert (req.status, req.bounty_total) == ("open", Decimal("100"))
        assert balance(user) == Decimal("1000")
        return
    assert [r.status_code for r in pages] == [200, 200, 200]
    assert vote.status_code == 302
    if persona == "upload_banned":
        assert fill.status_code == 400
        assert "banned from uploading" in fill.content.decode()
    else:
        assert fill.status_code == 302
    assert delete.status_code == (302 if persona == "moderator" else 403)


def test_the_requester_and_staff_edit_an_open_request_others_get_403(member, moderator,
                                                                      uploader):
    from domain.moderation.models import AuditLog

    req = make_request(member)
    url = f"/requests/{req.pk}/edit/"
    mine = login(member)
    assert f'href="{url}"' in mine.get(f"/requests/{req.pk}/").content.decode()
    assert mine.get(url).status_code == 200
    bad = mine.post(url, {"title": "", "imdb_id": "nope", "tmdb_id": "x"})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert field_error(html, "title")
    refused = mine.post(url, {"title": "Alien", "imdb_id": "nope"})
    assert refused.status_code == 400
    assert "IMDb id looks like" in field_error(refused.content.decode(), "imdb_id")
    assert TorrentRequest.objects.get(pk=req.pk).title == "Alien 1979 Remux"

    response = mine.post(url, {"title": "Alien 1979 4K Remux", "description": "UHD please",
                               "resolution": "2160p", "imdb_id": "tt0078748"})
    assert response.status_code == 302 and response["Location"] == f"/requests/{req.pk}/"
    req.refresh_from_db()
    assert (req.title, req.description, req.requirements) == (
        "Alien 1979 4K Remux", "UHD please", {"resolution": "2160p", "imdb_id": "tt0078748"})
    assert req.bounty_total == Decimal("100")  # category and bounty are not the form's
    audit = AuditLog.objects.get(action="request.edit", target_id=req.pk)
    assert audit.actor_id == member.pk and audit.changes["title"] == [
        "Alien 1979 Remux", "Alien 1979 4K Remux"]

    other = login(make_user())
    assert f'href="{url}"' not in other.get(f"/requests/{req.pk}/").content.decode()
    assert other.get(url).status_code == 403
    assert other.post(url, {"title": "Hijacked"}).status_code == 403
    assert login(moderator).post(url, {"title": "Alien (1979)"}).status_code == 302
    assert TorrentRequest.objects.get(pk=req.pk).title == "Alien (1979)"

    good = make_torrent(uploader=uploader)
    request_fill(filler=uploader, request_id=req.pk, torrent=str(good.pk))
    assert mine.post(url, {"title": "After the fill"}).status_code == 403
    assert TorrentRequest.objects.get(pk=req.pk).title == "Alien (1979)"
