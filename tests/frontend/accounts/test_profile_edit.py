"""A member edits their own profile: an avatar checked from its bytes (type and
dimensions, size), stored under MEDIA_ROOT and served by the site with its checked type;
the bio through the descriptions' sanitizer; a title only for a class with the title
permission. Member names across the site link to profiles."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image, ImageSequence

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


def encoded(image: Image.Image, kind: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **params)
    return out.getvalue()


def png(width: int, height: int, **params: Any) -> bytes:
    return encoded(Image.new("RGB", (width, height), (0, 0, 255)), "PNG", **params)


def gif(width: int, height: int) -> bytes:
    return encoded(Image.new("P", (width, height), 3), "GIF")


def jpeg(width: int, height: int, **params: Any) -> bytes:
    return encoded(Image.new("RGB", (width, height), (200, 30, 30)), "JPEG", **params)


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header that claims a size its few bytes could never hold."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def stored(media: Path, member: User) -> bytes:
    member.refresh_from_db()
    return (media / str(member.avatar.name)).read_bytes()


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
    body = b"".join(served.streaming_content)  # type: ignore[attr-defined]
    assert body == (media / member.avatar.name).read_bytes()
    with Image.open(io.BytesIO(body)) as image:
        assert image.format == "PNG" and image.size == (64, 48)
        assert image.convert("RGB").getpixel((10, 10)) == (0, 0, 255)

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
    # A decompression bomb: refused from its header, before a pixel is decoded.
    (png_claiming(60_000, 60_000), "at most 256x256 pixels"),
    # Cut short: the header parses, the pixels do not.
    (png(200, 200)[:-40], "truncated or damaged"),
    (b"BM" + b"\x00" * 60, "must be a PNG, JPEG, GIF or WebP"),  # a BMP is not taken
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


def test_what_is_stored_is_the_pixels_alone(media):
    """Encoded again from the pixels: no EXIF (a phone photo's location), no text chunks,
    nothing appended after the image (a file that is also HTML)."""
    member = make_user()
    client = logged_in(member)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 5.0)}  # GPSInfo: where the photo was taken
    photo = jpeg(120, 90, exif=exif.tobytes())
    with Image.open(io.BytesIO(photo)) as sent:
        assert sent.getexif()  # the upload does carry it
    assert client.post("/settings/profile/", {
        "avatar": upload(photo, "me.jpg", "image/jpeg"), "profile_text": ""}).status_code == 302
    kept = stored(media, member)
    with Image.open(io.BytesIO(kept)) as image:
        assert image.format == "JPEG" and image.size == (120, 90)
        assert not image.getexif() and b"PhoneMaker" not in kept

    from PIL import PngImagePlugin
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "<script>alert(1)</script>")
    polyglot = png(32, 32, pnginfo=text) + b"<html><script>alert(2)</script></html>"
    assert client.post("/settings/profile/", {
        "avatar": upload(polyglot), "profile_text": ""}).status_code == 302
    kept = stored(media, member)
    assert b"script" not in kept and kept.endswith(b"IEND\xaeB`\x82")
    with Image.open(io.BytesIO(kept)) as image:
        assert image.size == (32, 32) and not image.text  # type: ignore[attr-defined]


def test_an_animated_gif_keeps_its_frames_and_too_many_are_refused(media, settings):
    settings.AVATAR_MAX_BYTES = 256 * 1024
    member = make_user()
    client = logged_in(member)
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "lime", "blue")]
    animated = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:],
                       duration=200, loop=0)
    assert client.post("/settings/profile/", {
        "avatar": upload(animated, "a.gif", "image/gif"), "profile_text": ""}).status_code == 302
    with Image.open(io.BytesIO(stored(media, member))) as image:
        assert image.format == "GIF" and getattr(image, "n_frames", 1) == 3
        colours = [frame.convert("RGB").getpixel((8, 8)) for frame in
                   ImageSequence.Iterator(image)]
        assert colours == [(255, 0, 0), (0, 255, 0), (0, 0, 255)]

    many = [Image.new("RGB", (8, 8), (i, 0, 0)) for i in range(130)]
    too_long = encoded(many[0], "GIF", save_all=True, append_images=many[1:], duration=50)
    response = client.post("/settings/profile/", {
        "avatar": upload(too_long, "b.gif", "image/gif"), "profile_text": ""})
    assert response.status_code == 400
    assert "at most 120 frames" in response.content.decode()
