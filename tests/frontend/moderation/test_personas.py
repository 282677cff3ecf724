"""The persona matrix over every moderation page and form: each persona gets the page, a
403 page, or (banned: no session survives) the login redirect; never a 500. And what the
pages show: only one's own reports and warnings, staff data only to staff."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from domain.community.models import Forum
from domain.community.services import forum_topic_create
from domain.moderation.appeals import appeal_file
from domain.moderation.models import AuditLog, Ban, StaffNote, Warning
from domain.moderation.reports import report_file
from domain.moderation.warnings import warning_issue
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

PERSONAS = ["member", "uploader", "forum_moderator", "moderator", "sysop", "banned"]


@pytest.fixture
def world():
    author = make_user("member")
    reporter = make_user("member")
    moderator = make_user("moderator")
    forum = Forum.objects.get(slug="general")
    topic = forum_topic_create(user=author, forum_id=forum.pk, title="Hi", body="Rude post")
    post = topic.posts.get()
    report = report_file(reporter=reporter, target_type="forum_post", target_id=post.pk,
                         reason="abuse", description="secret-report-text")
    warning = warning_issue(actor=moderator, member=author, reason="secret-warning-text",
                            points=1, expires_at=None)
    appeal = appeal_file(appellant=author, target_type="warning", target_id=warning.pk,
                         text="secret-appeal-text")
    StaffNote.objects.create(member=author, author=moderator, body="secret-note-text")
    return {"author": author, "post": post, "report": report, "warning": warning,
            "appeal": appeal}


def _client(persona):
    user = make_user(persona)
    client = Client()
    client.force_login(user)
    return client, user


# page -> the personas that may see it (others: 403; banned: login redirect)
STAFF = {"forum_moderator", "moderator", "sysop"}
PRIVATE = {"moderator", "sysop"}
PAGES = [
    ("/staff/", STAFF),
    ("/staff/members/?q=member", PRIVATE),
    ("/staff/members/{author}/", PRIVATE),
    ("/staff/audit/", PRIVATE),
    ("/staff/audit/?action=warning.&actor=&target_id=", PRIVATE),
    ("/staff/appeals/", PRIVATE),
    ("/staff/appeals/{appeal}/", PRIVATE),
    ("/staff/appeals/target/{warning}/", PRIVATE),
    ("/staff/reports/{report}/", STAFF),
    ("/staff/warn/forum_post/{post}/", PRIVATE),
    ("/staff/warn/user/{author}/", PRIVATE),
    ("/reports/", set(PERSONAS) - {"banned"}),
    ("/warnings/", set(PERSONAS) - {"banned"}),
    ("/appeals/", set(PERSONAS) - {"banned"}),
    ("/report/forum_post/{post}/", set(PERSONAS) - {"banned"}),
    ("/report/user/{author}/", set(PERSONAS) - {"banned"}),
]


def _url(template, world):
    return template.format(author=world["author"].pk, post=world["post"].pk,
                           report=world["report"].pk, warning=world["warning"].pk,
                           appeal=world["appeal"].pk)


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_answers_each_persona_with_the_page_a_403_or_the_login(persona, world):
    client, _ = _client(persona)
    for template, allowed in PAGES:
        response = client.get(_url(template, world))
        if persona == "banned":
            assert response.status_code == 302 and "/login/" in response["Location"], template
        elif persona in allowed:
            assert response.status_code in (200, 302), (template, response.status_code)
        else:
            assert response.status_code == 403, (template, response.status_code)
            assert "Not allowed" in response.content.decode()


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_persona_sees_anothers_reports_warnings_or_notes_without_the_permission(
        persona, world):
    client, _ = _client(persona)
    seen = "".join(client.get(_url(t, world)).content.decode() for t, _ in PAGES)
    assert "secret-report-text" not in seen or persona in STAFF
    assert "secret-warning-text" not in seen or persona in PRIVATE
    assert "secret-note-text" not in seen or persona in PRIVATE
    assert "secret-appeal-text" not in seen or persona in PRIVATE


def test_the_author_sees_their_warning_on_every_page_and_their_own_profile(world):
    client = Client()
    client.force_login(world["author"])
    home = client.get("/").content.decode()
    assert 'id="warning-banner"' in home and "secret-warning-text" in home
    profile = client.get(f"/users/{world['author'].username}/").content.decode()
    assert "Your warnings" in profile
    client.post(f"/warnings/{world['warning'].pk}/acknowledge/", {"next": "/"})
    assert "secret-warning-text" not in client.get("/").content.decode()
    assert "secret-warning-text" in client.get("/warnings/").content.decode()


def test_a_member_cannot_acknowledge_anothers_warning(world):
    client, _ = _client("member")
    response = client.post(f"/warnings/{world['warning'].pk}/acknowledge/")
    assert response.status_code == 404
    assert Warning.objects.get(pk=world["warning"].pk).acknowledged_at is None


@pytest.mark.parametrize("persona", ["member", "uploader", "forum_moderator"])
def test_staff_forms_refuse_who_lacks_the_permission(persona, world):
    client, _ = _client(persona)
    author = world["author"]
    for url, data in [
        (f"/staff/members/{author.pk}/ban/", {"ban_type": "account", "reason": "x"}),
        (f"/staff/members/{author.pk}/notes/", {"body": "x"}),
        (f"/staff/warnings/{world['warning'].pk}/lift/", {}),
        (f"/staff/warn/user/{author.pk}/", {"reason": "x", "points": "1"}),
        (f"/staff/appeals/{world['appeal'].pk}/", {"decision": "accept"}),
    ]:
        response = client.post(url, data)
        assert response.status_code == 403, (url, response.status_code)
    assert not Ban.objects.filter(user=author).exists()
    assert Warning.objects.filter(user=author).count() == 1


def test_a_moderator_warns_bans_unbans_and_notes_from_the_member_page(world):
    client, moderator = _client("moderator")
    author = world["author"]
    response = client.post(f"/staff/warn/user/{author.pk}/",
                           {"reason": "Spam", "points": "2", "expires_in_days": "7"})
    assert response.status_code == 302
    author.refresh_from_db()
    assert author.warning_points == 3
    client.post(f"/staff/members/{author.pk}/ban/", {"ban_type": "upload", "reason": "Fakes"})
    ban = Ban.objects.get(user=author, ban_type="upload")
    client.post(f"/staff/bans/{ban.pk}/revoke/")
    assert Ban.objects.get(pk=ban.pk).revoked_at is not None
    client.post(f"/staff/members/{author.pk}/notes/", {"body": "Talked on IRC"})
    assert StaffNote.objects.filter(member=author, author=moderator).count() == 1
    page = client.get(f"/staff/members/{author.pk}/").content.decode()
    assert "Talked on IRC" in page and "staff_note.add" in page and "ban.revoke" in page
    assert AuditLog.objects.filter(actor=moderator, action="warning.issue").exists()


@pytest.mark.parametrize("body", [
    {"reason": "", "points": "1"}, {"reason": "x", "points": "0"},
    {"reason": "x", "points": "101"}, {"reason": "x", "points": "abc"},
    {"reason": "x", "points": "1", "expires_in_days": "-3"},
])
def test_a_bad_warning_form_is_a_field_error_not_a_warning(world, body):
    client, _ = _client("moderator")
    response = client.post(f"/staff/warn/user/{world['author'].pk}/", body)
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert Warning.objects.filter(user=world["author"]).count() == 1


@pytest.mark.parametrize("path", [
    "/report/forum_post/not-a-uuid/", "/report/bogus/00000000-0000-0000-0000-000000000000/",
    "/report/forum_post/00000000-0000-0000-0000-000000000000/", "/appeal/garbage/",
    "/staff/audit/?target_id=zzz", "/staff/audit/?since=notadate",
])
def test_odd_addresses_are_a_clear_4xx(path):
    client, _ = _client("moderator")
    response = client.get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code)


def test_a_report_form_files_once_and_the_reporter_sees_it_but_not_others(world):
    client, _ = _client("member")
    url = f"/report/forum_post/{world['post'].pk}/"
    response = client.post(url, {"reason": "spam", "description": "my-own-report"})
    assert response.status_code == 302
    assert "my-own-report" not in client.get("/reports/").content.decode()  # description
    assert "Forum post by" in client.get("/reports/").content.decode()
    again = client.post(url, {"reason": "spam"})
    assert again.status_code == 400 and "already reported" in again.content.decode()
    other, _ = _client("member")
    assert "Forum post by" not in other.get("/reports/").content.decode()


def test_the_banned_page_links_to_an_appeal_form_that_works_without_login(world):
    from domain.moderation.services import ban_issue

    member = make_user("member")
    client = Client()
    client.force_login(member)
    ban = ban_issue(actor=make_user("moderator"), ban_type="account", user=member,
                    reason="Cheating")
    # The ban ended the session: logging in again is refused, with the link to appeal.
    assert client.get("/").status_code == 302
    page = Client().post("/login/", {"username": member.username, "password": PASSWORD})
    assert "banned" in page.content.decode()
    found = re.search(r'href="(/appeal/[^"]+/)"', page.content.decode())
    assert found is not None
    link = found.group(1)
    anonymous = Client()
    form = anonymous.get(link)
    assert form.status_code == 200 and "Cheating" in form.content.decode()
    response = anonymous.post(link, {"target_type": "ban", "target_id": str(ban.pk),
                                     "text": "My brother did it"})
    assert response.status_code == 302
    assert Ban.objects.get(pk=ban.pk).appeal_status == "pending"
    assert "Appeal pending" in anonymous.get(link).content.decode()


def test_a_received_private_message_has_a_report_link_the_sent_one_not():
    from domain.community.services import pm_send

    sender, recipient = make_user("member"), make_user("member")
    pm = pm_send(sender=sender, recipient_username=recipient.username, subject="Hi",
                 body="buy my stuff")
    link = f"/report/private_message/{pm.pk}/"
    for user, shown in ((recipient, True), (sender, False)):
        client = Client()
        client.force_login(user)
        page = client.get(f"/messages/{pm.conversation_id}/").content.decode()
        assert (link in page) is shown
    outsider = Client()
    outsider.force_login(sender)
    assert outsider.get(link).status_code == 404  # only the recipient may report it


def test_request_and_collection_pages_have_report_links_that_file(settings):
    """A member reports a request, a collection and a comment under it from the page;
    the owner sees no Report link of their own and keeps their controls."""
    from domain.catalog.collections import collection_comment_post, collection_create
    from domain.catalog.models import TorrentCategory
    from domain.catalog.requests import request_create
    from domain.moderation.models import Report
    from tests.domain.bonus.factories import fund

    settings.REQUEST_MIN_BOUNTY = "100"
    owner, member = make_user("power_user"), make_user("member")
    fund(owner, 100)
    req = request_create(requester=owner, title="Alien 1979", bounty="100",
                         category_id=TorrentCategory.objects.get(slug="movies-hd").pk)
    hidden = collection_create(owner=owner, name="Secret", is_public=False)
    shown = collection_create(owner=owner, name="Hitchcock")
    comment = collection_comment_post(author=owner, collection_id=shown.pk, body="Mine")
    cases = [(f"/requests/{req.pk}/", f"/report/request/{req.pk}/", "request"),
             (f"/collections/{shown.pk}/", f"/report/collection/{shown.pk}/", "collection"),
             (f"/collections/{shown.pk}/", f"/report/comment/{comment.pk}/", "comment")]
    mine, theirs = Client(), Client()
    mine.force_login(owner)
    theirs.force_login(member)
    for page, link, target_type in cases:
        assert link not in mine.get(page).content.decode()
        assert f'href="{link}"' in theirs.get(page).content.decode()
        form = theirs.get(link)
        assert form.status_code == 200
        response = theirs.post(link, {"reason": "spam", "next": page})
        assert response.status_code == 302 and response["Location"] == page
        assert Report.objects.filter(reporter=member, target_type=target_type).count() == 1
    owner_page = mine.get(f"/collections/{shown.pk}/").content.decode()
    assert f'href="/collections/{shown.pk}/edit/"' in owner_page
    assert f"/collections/{shown.pk}/edit/" not in theirs.get(
        f"/collections/{shown.pk}/").content.decode()
    # A private collection cannot be reported (nor probed) by those who cannot open it.
    assert theirs.get(f"/report/collection/{hidden.pk}/").status_code == 404
    assert mine.get(f"/report/collection/{hidden.pk}/").status_code == 200
