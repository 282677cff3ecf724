"""A member edits their own profile: an avatar checked from its bytes (type and
dimensions, size), stored under MEDIA_ROOT and served by the site with its checked type;
the bio through the descriptions' sanitizer; a title only for a class with the title
permission. Member names across the site link to profiles."""

from __future__ import annotations

import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from domain.accounts.models import User
from domain.community.models import Forum
from domain.community.services import forum_topic_create, pm_send
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.AVATAR_MAX_BYTES = 4096
    settings.AVATAR_MAX_SIDE = 256
    return settings.MEDIA_ROOT


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x00\x00\xff" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b"\x3b"


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(data: bytes, name: str = "me.png", content_type: str = "image/png"
           ) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_a_member_uploads_an_avatar_that_the_site_serves(media,
                                                         django_capture_on_commit_callbacks):
    member = make_user()
    client = logged_in(member)
    assert client.get("/settings/profile/").status_code == 200

    response = client.post("/settings/profile/", {"avatar": upload(png(64, 48)),
                                                  "profile_text": ""})
    assert response.status_code == 302
    member.refresh_from_db()
    assert str(member.avatar.name).startswith(f"avatars/{member.pk.hex}-")
    assert (media / member.avatar.name).is_file()

    page = client.get(f"/users/{member.username}/").content.decode()
    assert f'<img class="avatar profile-avatar" src="/media/{member.avatar.name}"' in page
    served = logged_in(make_user()).get(f"/media/{member.avatar.name}")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert b"".join(served.streaming_content) == png(64, 48)  # type: ignore[attr-defined]

    # A new one replaces it; the old file goes.
    old = media / member.avatar.name
    with django_capture_on_commit_callbacks(execute=True):
        with_jpeg = client.post("/settings/profile/", {
            "avatar": upload(jpeg(100, 100), "x.jpg", "image/jpeg"), "profile_text": ""})
    assert with_jpeg.status_code == 302
    member.refresh_from_db()
    assert str(member.avatar.name).endswith(".jpg") and not old.exists()
    # And it can be removed.
    client.post("/settings/profile/", {"remove_avatar": "on", "profile_text": ""})
    member.refresh_from_db()
    assert not member.avatar


@pytest.mark.parametrize(("data", "message"), [
    (b"<html><script>alert(1)</script></html>", "must be a PNG, JPEG, GIF or WebP"),
    (png(300, 10), "at most 256x256 pixels"),
    (gif(10, 10) + b"\x00" * 5000, "at most 4 KiB"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 10, "must be a PNG, JPEG, GIF or WebP"),
])
def test_an_avatar_is_checked_from_its_own_bytes(data, message, media):
    member = make_user()
    response = logged_in(member).post("/settings/profile/", {
        "avatar": upload(data), "profile_text": "kept?"})
    assert response.status_code == 400
    assert message in response.content.decode()
    member.refresh_from_db()
    assert not member.avatar and member.profile_text == ""
    assert not (media / "avatars").exists() or not any((media / "avatars").iterdir())


def test_the_bio_goes_through_the_description_sanitizer():
    member = make_user()
    client = logged_in(member)
    client.post("/settings/profile/", {"profile_text": (
        "<b>Seeder</b> of <a href='https://example.test' onclick='x()'>old films</a>"
        "<script>alert(1)</script><img src=x onerror=alert(1)>")})
    page = logged_in(make_user()).get(f"/users/{member.username}/").content.decode()
    text = page[page.index('class="profile-text"'):]
    assert "<b>Seeder</b>" in text
    assert 'href="https://example.test"' in text
    assert "<script" not in text and "onclick" not in text and "onerror" not in text


def test_a_title_only_for_a_class_with_the_title_permission():
    member, elite = make_user("member"), make_user("elite")
    form = logged_in(member).get("/settings/profile/").content.decode()
    assert 'name="title"' not in form
    logged_in(member).post("/settings/profile/", {"profile_text": "", "title": "King"})
    member.refresh_from_db()
    assert member.title == ""

    assert 'name="title"' in logged_in(elite).get("/settings/profile/").content.decode()
    logged_in(elite).post("/settings/profile/", {"profile_text": "", "title": "  Film   buff "})
    elite.refresh_from_db()
    assert elite.title == "Film buff"
    page = logged_in(member).get(f"/users/{elite.username}/").content.decode()
    assert "<em>Film buff</em>" in page


def test_an_avatar_file_name_not_written_by_the_site_is_not_served(media):
    (media / "avatars").mkdir(parents=True)
    (media / "avatars" / "evil.html").write_text("<script>alert(1)</script>")
    client = logged_in(make_user())
    assert client.get("/media/avatars/evil.html").status_code == 404
    assert client.get("/media/avatars/..%2Fsecret").status_code == 404


def test_member_names_link_to_profiles_across_the_site():
    uploader, poster = make_user("uploader"), make_user()
    t = make_torrent(name="Linked.Upload", uploader=uploader)
    general = Forum.objects.get(slug="general")
    topic = forum_topic_create(user=poster, forum_id=general.pk, title="Linked names",
                               body="first post")
    viewer = logged_in(make_user())

    browse = viewer.get("/torrents/").content.decode()
    assert f'<a class="member" href="/users/{uploader.username}/">{uploader.username}</a>' in browse
    detail = viewer.get(f"/torrents/{t.pk}/").content.decode()
    assert f'href="/users/{uploader.username}/"' in detail
    forum = viewer.get(f"/forums/{general.pk}/").content.decode()
    assert f'<a class="member" href="/users/{poster.username}/">' in forum
    topic_page = viewer.get(f"/forums/topic/{topic.pk}/").content.decode()
    assert f'<a class="member" href="/users/{poster.username}/">' in topic_page

    pm_send(sender=poster, recipient_username=uploader.username, subject="hi", body="hello")
    inbox = logged_in(uploader).get("/messages/").content.decode()
    assert f'<a class="member" href="/users/{poster.username}/">' in inbox
