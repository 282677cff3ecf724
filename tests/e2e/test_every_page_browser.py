"""Every page a visitor, a member or a staff member opens, in headless Chromium at 360, 768
and 1280 px, over the demo community `make run` loads (seed_demo): each must fit the width
(no sideways scroll), raise no console error and no CSP violation, and answer 200. The
member is the demo member (reelfan), the staff pages are opened as sysop with the second
factor the demo prints. At 1280 px each page must also be usable from the keyboard with
every control named, and readable in the light and the dark theme (tests/e2e/a11y.py,
issue 18.6). A screenshot of every page at every width, and at 1280 px in the dark theme,
is saved in the test's directory; the failures are listed together (issue 18, "Done
means")."""

from __future__ import annotations

import io
from pathlib import Path

import pyotp
import pytest
from django.core.management import call_command

from domain.accounts.models import User, UserTwoFactor
from domain.catalog.models import Torrent, TorrentCollection, TorrentRequest
from domain.community.models import Forum, ForumTopic, PrivateMessage
from domain.moderation.models import Report, Warning
from tests.e2e.a11y import CLICK_WATCH, check_access, check_themes
from tests.e2e.cdp import Browser, Page
from tests.e2e.test_chat_browser import _js
from tests.e2e.test_front_pages_browser import GUARD, WIDTHS, _visit
from tests.factories import PASSWORD


def _log_in(page: Page, base: str, username: str, code: str | None = None) -> None:
    page.navigate(f"{base}/login/")
    page.wait_for("document.readyState === 'complete' && "
                  "!!document.querySelector('form input[name=password]')", what="login form")
    page.evaluate(f"""(() => {{
        const form = document.querySelector('input[name=password]').form;
        form.querySelector('input[name=username]').value = {_js(username)};
        form.querySelector('input[name=password]').value = {_js(PASSWORD)};
        form.querySelector('button[type=submit]').click();
    }})()""")
    if code is not None:
        page.wait_for("location.pathname === '/login/2fa/' && document.readyState === "
                      "'complete' && !!document.querySelector('form input[name=code]')",
                      what="the second-factor step")
        page.evaluate(f"""(() => {{
            const input = document.querySelector('form input[name=code]');
            input.value = {_js(code)};
            input.form.querySelector('button[type=submit]').click();
        }})()""")
    page.wait_for("location.pathname.indexOf('/login') !== 0 && document.readyState === "
                  "'complete' && !!document.getElementById('live-notifications')",
                  what=f"{username} logged in")


def _member_pages(member: User) -> dict[str, str]:
    torrent = Torrent.objects.filter(status="approved").order_by("-created_at").first()
    other = User.objects.exclude(pk=member.pk).filter(status="active").order_by(
        "username").first()
    request = TorrentRequest.objects.order_by("created_at").first()
    collection = TorrentCollection.objects.filter(is_public=True).order_by(
        "created_at").first()
    forum = Forum.objects.filter(min_rank_read__lte=member.group.rank).order_by(
        "created_at").first()
    topic = ForumTopic.objects.filter(forum=forum).order_by("created_at").first()
    message = PrivateMessage.objects.filter(recipient=member).order_by("created_at").first()
    assert None not in (torrent, other, request, collection, forum, topic)
    assert torrent and other and request and collection and forum and topic
    pages = {
        "home": "/", "torrents": "/torrents/", "torrents-search": "/torrents/?q=the",
        "torrent": f"/torrents/{torrent.pk}/",
        "torrent-files": f"/torrents/{torrent.pk}/?tab=files",
        "torrent-peers": f"/torrents/{torrent.pk}/peers/",
        "torrent-snatches": f"/torrents/{torrent.pk}/snatches/",
        "upload": "/torrents/upload/", "feed-settings": "/torrents/feed/",
        "requests": "/requests/", "request": f"/requests/{request.pk}/",
        "request-new": "/requests/new/",
        "collections": "/collections/", "collection": f"/collections/{collection.pk}/",
        "collection-new": "/collections/new/",
        "top10": "/top10/", "statistics": "/statistics/",
        "forums": "/forums/", "forum": f"/forums/{forum.pk}/",
        "topic": f"/forums/topic/{topic.pk}/", "topic-new": f"/forums/{forum.pk}/new/",
        "chat": "/chat/", "chat-room": "/chat/general/",
        "inbox": "/messages/", "message-new": "/messages/new/",
        "ticket-new": "/messages/staff/", "blocks": "/messages/blocked/",
        "notifications": "/notifications/",
        "bonus": "/bonus/",
        "profile": f"/users/{member.username}/", "profile-other": f"/users/{other.username}/",
        "settings": "/settings/", "password": "/settings/password/",
        "email": "/settings/email/", "2fa": "/settings/2fa/",
        "passkey": "/settings/passkey/", "privacy": "/settings/privacy/",
        "profile-edit": "/settings/profile/", "sessions": "/settings/sessions/",
        "api-keys": "/settings/api-keys/", "invites": "/invites/",
        "my-reports": "/reports/", "my-warnings": "/warnings/", "my-appeals": "/appeals/",
        "api-docs": "/api/",
    }
    for kind in ("snatched", "seeding", "leeching", "uploaded"):
        pages[f"history-{kind}"] = f"/users/{member.username}/history/{kind}/"
    if message is not None:
        pages["conversation"] = f"/messages/{message.conversation_id}/"
    return pages


def _staff_pages() -> dict[str, str]:
    report = Report.objects.order_by("created_at").first()
    warned = Warning.objects.order_by("created_at").first()
    assert report is not None and warned is not None
    return {
        "moderation-feed": "/moderation/feed/", "staff": "/staff/",
        "staff-members": "/staff/members/?q=a",
        "staff-member": f"/staff/members/{warned.user_id}/",
        "staff-report": f"/staff/reports/{report.pk}/",
        "staff-appeals": "/staff/appeals/", "staff-audit": "/staff/audit/",
    }


# The width the keyboard, label and theme checks run at (once a page is enough for them).
A11Y_WIDTH = WIDTHS[-1]
VISITOR_PAGES = {"login": "/login/", "register": "/register/"}


def _crawl(page: Page, base: str, pages: dict[str, str], shots: Path,
           failures: list[str]) -> None:
    for name, path in pages.items():
        for width in WIDTHS:
            shot = shots / f"{name}-{width}.png"
            try:
                _visit(page, base + path, width, shot)
                status = page.evaluate(
                    "performance.getEntriesByType('navigation')[0].responseStatus")
                if status != 200:
                    failures.append(f"{path} answered {status}")
                    break
            except AssertionError as exc:
                failures.append(str(exc).split("\n")[0])
                continue
            if width == A11Y_WIDTH:
                try:
                    failures.extend(check_access(page, path))
                    failures.extend(check_themes(page, path, shot))
                except AssertionError as exc:
                    failures.append(str(exc).split("\n")[0])


@pytest.mark.django_db(transaction=True)
def test_every_page_fits_every_width_without_errors(browser: Browser, asgi_server: str,
                                                    tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", stdout=io.StringIO())
    member = User.objects.select_related("group").get(username="reelfan")
    secret = UserTwoFactor.objects.get(user__username="sysop", is_enabled=True).secret
    failures: list[str] = []

    visitor = browser.new_page()
    visitor.send("Page.addScriptToEvaluateOnNewDocument", {"source": GUARD + CLICK_WATCH})
    _crawl(visitor, asgi_server, VISITOR_PAGES, tmp_path, failures)

    page = browser.new_page()
    page.send("Page.addScriptToEvaluateOnNewDocument", {"source": GUARD + CLICK_WATCH})
    _log_in(page, asgi_server, member.username)
    _crawl(page, asgi_server, _member_pages(member), tmp_path, failures)

    staff = browser.new_page()
    staff.send("Page.addScriptToEvaluateOnNewDocument", {"source": GUARD + CLICK_WATCH})
    _log_in(staff, asgi_server, "sysop", pyotp.TOTP(secret).now())
    _crawl(staff, asgi_server, _staff_pages(), tmp_path, failures)

    assert failures == [], "\n".join(failures)
