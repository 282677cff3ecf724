"""Moderation end to end in Chromium: a member reports a forum post; the moderator's open
feed shows it without a reload; the moderator warns the author from the report; the
author's open tab shows the banner at once; the author appeals; the moderator, whose feed
shows the appeal arrive, accepts it; the warning is gone (banner hidden, warning lifted).

Each person is a page in a browser context of their own (own cookies), logged in through
the login form (the moderator with the second factor their class requires). A marker
set on window before each wait proves the page was not reloaded."""

from __future__ import annotations

import json

import pytest

from domain.community.models import Forum
from domain.community.services import forum_topic_create
from domain.moderation.models import Appeal, Report, Warning
from tests.domain.accounts.factories import enable_two_factor
from tests.e2e.cdp import Browser, Page
from tests.e2e.test_chat_browser import log_in
from tests.factories import make_user

WAIT = 15.0  # generous: a poll, not a timing assertion


def _js(value: str) -> str:
    return json.dumps(value)


def _loaded(page: Page, path: str, what: str) -> None:
    page.wait_for(f"location.pathname === {_js(path)} && document.readyState === 'complete'",
                  what=what)


def _mark(page: Page) -> None:
    page.evaluate("window.__notReloaded = true")


def _still_same_page(page: Page) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def _online(page: Page, what: str) -> None:
    page.wait_for("document.getElementById('live-notifications')?.dataset.state === 'online'",
                  timeout=WAIT, what=what)


def _log_in_with_code(page: Page, base: str, username: str, totp) -> None:
    page.navigate(f"{base}/login/")
    page.wait_for("!!document.querySelector('form input[name=password]')", what="login form")
    from tests.factories import PASSWORD

    page.evaluate(f"""(() => {{
        const form = document.querySelector('input[name=password]').form;
        form.querySelector('input[name=username]').value = {_js(username)};
        form.querySelector('input[name=password]').value = {_js(PASSWORD)};
        form.querySelector('button[type=submit]').click();
    }})()""")
    _loaded(page, "/login/2fa/", "the second-factor step")
    page.wait_for("!!document.querySelector('form input[name=code]')", what="code form")
    page.evaluate(f"""(() => {{
        const input = document.querySelector('form input[name=code]');
        input.value = {_js(totp.now())};
        input.form.querySelector('button[type=submit]').click();
    }})()""")
    page.wait_for("location.pathname.indexOf('/login') !== 0 && document.readyState === "
                  "'complete' && !!document.getElementById('live-notifications')",
                  what=f"{username} logged in with the second factor")


def _open_feed(page: Page, base: str) -> None:
    page.navigate(f"{base}/moderation/feed/")
    _loaded(page, "/moderation/feed/", "the moderation feed")
    page.wait_for("document.getElementById('moderation-feed')?.dataset.subscribed === '1'",
                  timeout=WAIT, what="the feed following the moderation stream")
    _mark(page)


@pytest.mark.django_db(transaction=True)
def test_report_warn_banner_appeal_accept_in_chromium(browser: Browser,
                                                      asgi_server: str) -> None:
    author = make_user("member")
    reporter = make_user("member")
    moderator = make_user("moderator")
    totp = enable_two_factor(moderator)
    forum = Forum.objects.get(slug="general")
    topic = forum_topic_create(user=author, forum_id=forum.pk, title="Hello all",
                               body="You are all idiots")
    post = topic.posts.get()
    base = asgi_server

    mod = browser.new_page()
    _log_in_with_code(mod, base, moderator.username, totp)
    _open_feed(mod, base)

    writer = browser.new_page()
    log_in(writer, base, author.username)
    writer.navigate(f"{base}/forums/topic/{topic.pk}/")
    _loaded(writer, f"/forums/topic/{topic.pk}/", "the author's topic page")
    _online(writer, "the author's socket")
    _mark(writer)
    assert writer.evaluate("document.getElementById('warning-banner').hidden") is True

    # 1. A member reports the post from where it is shown.
    member = browser.new_page()
    log_in(member, base, reporter.username)
    member.navigate(f"{base}/forums/topic/{topic.pk}/")
    _loaded(member, f"/forums/topic/{topic.pk}/", "the reporter's topic page")
    member.evaluate(f"document.querySelector('#post-{post.pk} a.report-link').click()")
    _loaded(member, f"/report/forum_post/{post.pk}/", "the report form")
    member.evaluate("""(() => {
        const form = document.getElementById('report-form');
        form.querySelector('select[name=reason]').value = 'abuse';
        form.querySelector('textarea[name=description]').value = 'Insults everyone';
        form.querySelector('button[type=submit]').click();
    })()""")
    member.wait_for("location.pathname.startsWith('/forums/topic/') && "
                    "document.body.innerText.includes('your report is with the staff')",
                    timeout=WAIT, what="the report filed")
    report = Report.objects.get(target_id=post.pk)

    # 2. The moderator's open feed shows it, no reload.
    mod.wait_for(f"!!document.querySelector('.feed-item[data-kind=report][data-id=\"{report.pk}\"]')",
                 timeout=WAIT, what="the report in the open feed")
    assert _still_same_page(mod)

    # 3. The moderator opens it from the feed and warns the author.
    mod.evaluate(f"document.querySelector('.feed-item[data-id=\"{report.pk}\"] a').click()")
    _loaded(mod, f"/staff/reports/{report.pk}/", "the staff report page")
    mod.evaluate("document.querySelector('a.warn-link').click()")
    _loaded(mod, f"/staff/warn/forum_post/{post.pk}/", "the warn form")
    mod.evaluate("""(() => {
        const form = document.getElementById('warn-form');
        form.querySelector('textarea[name=reason]').value = 'Insulting other members';
        form.querySelector('input[name=points]').value = '2';
        form.querySelector('button[type=submit]').click();
    })()""")
    _loaded(mod, f"/staff/reports/{report.pk}/", "back on the report after warning")
    warning = Warning.objects.get(user=author)
    assert warning.points == 2 and warning.report_id == report.pk

    # 4. The author's open tab shows the banner at once.
    writer.wait_for("!document.getElementById('warning-banner').hidden && "
                    "document.getElementById('warning-banner').innerText"
                    ".includes('Insulting other members')", timeout=WAIT,
                    what="the banner on the author's open tab")
    assert _still_same_page(writer)

    # 5. The author appeals from the banner; the moderator's feed shows the appeal.
    _open_feed(mod, base)
    writer.evaluate("document.querySelector('#warning-banner a[href=\"/appeals/\"]').click()")
    _loaded(writer, "/appeals/", "the appeals page")
    writer.evaluate(f"""(() => {{
        const item = document.querySelector('.appealable[data-id="{warning.pk}"]');
        item.querySelector('textarea[name=text]').value = 'I was provoked; I apologised';
        item.querySelector('button[type=submit]').click();
    }})()""")
    writer.wait_for("document.body.innerText.includes('Appeal pending')", timeout=WAIT,
                    what="the appeal filed")
    appeal = Appeal.objects.get(target_id=warning.pk)
    mod.wait_for(f"!!document.querySelector('.feed-item[data-kind=queue] a[href=\"/staff/"
                 f"appeals/target/{warning.pk}/\"]')", timeout=WAIT,
                 what="the appeal in the open feed")
    assert _still_same_page(mod)

    # 6. The moderator accepts it.
    mod.evaluate(f"document.querySelector('a[href=\"/staff/appeals/target/{warning.pk}/\"]')"
                 ".click()")
    _loaded(mod, f"/staff/appeals/{appeal.pk}/", "the appeal page")
    mod.evaluate("""(() => {
        const form = document.getElementById('decide-form');
        form.querySelector('select[name=decision]').value = 'accept';
        form.querySelector('textarea[name=note]').value = 'Accepted: apology noted';
        form.querySelector('button[type=submit]').click();
    })()""")
    mod.wait_for("document.querySelector('.appeal-status')?.innerText === 'Accepted'",
                 timeout=WAIT, what="the appeal accepted")

    # 7. The warning is gone: lifted, no points, and the author's open tab drops the banner.
    writer.navigate(f"{base}/warnings/")
    _loaded(writer, "/warnings/", "the author's warnings")
    writer.wait_for(f"document.querySelector('.warning-row[data-id=\"{warning.pk}\"] .state')"
                    "?.innerText.startsWith('lifted')", timeout=WAIT, what="the warning lifted")
    assert writer.evaluate("document.getElementById('warning-banner').hidden") is True
    assert writer.evaluate("document.querySelector('.warning-points').innerText") == "0"
    warning.refresh_from_db()
    author.refresh_from_db()
    assert warning.revoked_at is not None and author.warning_points == 0


@pytest.mark.django_db(transaction=True)
def test_claim_and_resolve_buttons_go_over_the_socket_and_update_every_feed(
        browser: Browser, asgi_server: str) -> None:
    """Two moderators with the feed open on a report; one claims it and resolves it with
    the feed's buttons (sent over the socket: no page load); both feeds follow live."""
    from domain.moderation.reports import report_file

    first, second = make_user("moderator"), make_user("moderator")
    first_totp, second_totp = enable_two_factor(first), enable_two_factor(second)
    author, reporter = make_user("member"), make_user("member")
    topic = forum_topic_create(user=author, forum_id=Forum.objects.get(slug="general").pk,
                               title="Rude", body="You are all idiots")
    # Filed here, before the feeds open (this process's events use another channel prefix
    # than the server's): the buttons are the server-rendered ones.
    report = report_file(reporter=reporter, target_type="forum_post",
                         target_id=topic.posts.get().pk, reason="abuse")
    item = f".feed-item[data-kind=report][data-id=\"{report.pk}\"]"
    a, b = browser.new_page(), browser.new_page()
    _log_in_with_code(a, asgi_server, first.username, first_totp)
    _log_in_with_code(b, asgi_server, second.username, second_totp)
    for page in (a, b):
        _open_feed(page, asgi_server)
        _online(page, "the moderator's socket")

    a.evaluate(f"""document.querySelector({_js(item)})
        .querySelector("form[action$='/claim/'] button").click()""")
    for page in (a, b):
        page.wait_for(f"document.querySelector({_js(item + ' .claimed-by')})?.textContent"
                      f" === {_js('claimed by ' + first.username)}", timeout=WAIT,
                      what="the claim shown in every feed")
    report.refresh_from_db()
    assert report.status == "claimed" and report.claimed_by_id == first.pk

    a.evaluate(f"""(() => {{
        const form = document.querySelector({_js(item)})
            .querySelector("form[action$='/resolve/']");
        form.elements.note.value = 'Warned the author';
        form.querySelector('button').click();
    }})()""")
    for page in (a, b):
        page.wait_for(f"!document.querySelector({_js(item)})", timeout=WAIT,
                      what="the resolved report gone from every feed")
        assert _still_same_page(page)
    assert b.evaluate("document.querySelector('.feed-live').textContent") == (
        f"{first.username} resolved an item")
    report.refresh_from_db()
    assert report.status == "resolved" and report.resolution_note == "Warned the author"
