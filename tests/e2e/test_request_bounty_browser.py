"""Done means, in headless Chromium: one member files a request, two others add bounty, a
third uploads a real .torrent and fills the request; the requester's open tab is told live,
and balances, notifications and the request page are right."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from domain.accounts.models import User
from domain.catalog.models import TorrentCategory, TorrentRequest
from domain.community.models import Notification
from tests.domain.bonus.factories import fund
from tests.domain.catalog.factories import libtorrent_make
from tests.e2e.cdp import Browser, Page
from tests.e2e.test_chat_browser import WAIT, log_in
from tests.factories import make_user


def _js(value: object) -> str:
    return json.dumps(value)


def submit(page: Page, form_selector: str, values: dict[str, str]) -> None:
    """Fill a form's fields by name and press its submit button, as a member would."""
    page.wait_for(f"!!document.querySelector({_js(form_selector)})",
                  what=f"form {form_selector}")
    page.evaluate(f"""(() => {{
        const form = document.querySelector({_js(form_selector)});
        for (const [name, value] of Object.entries({_js(values)})) {{
            form.elements[name].value = value;
        }}
        form.querySelector('button[type=submit]').click();
    }})()""")


def wait_path(page: Page, pattern: str) -> str:
    path: str = page.wait_for(f"/{pattern}/.test(location.pathname) && "
                              "document.readyState === 'complete' && location.pathname",
                              timeout=WAIT, what=f"a page at {pattern}")
    return path


def balance(user: User) -> Decimal:
    return User.objects.get(pk=user.pk).bonus_points


@pytest.mark.django_db(transaction=True)
def test_file_bounty_upload_fill_in_the_browser(browser: Browser, asgi_server: str,
                                                tmp_path: Path, settings) -> None:
    alice, bob, carol = make_user(), make_user(), make_user()
    dave = make_user("uploader")
    for user, points in ((alice, 500), (bob, 400), (carol, 300)):
        fund(user, points)
    category = TorrentCategory.objects.get(slug="movies-hd")

    # Alice files the request through the form.
    requester = browser.new_page()
    log_in(requester, asgi_server, alice.username)
    requester.navigate(f"{asgi_server}/requests/new/")
    submit(requester, "form.request-form", {
        "title": "Night of the Comet 1984 1080p", "category": str(category.pk),
        "bounty": "200", "resolution": "1080p", "imdb_id": "tt0087799"})
    request_path = wait_path(requester, r"^\/requests\/[0-9a-f-]{36}\/$")
    req = TorrentRequest.objects.get()
    assert request_path == f"/requests/{req.pk}/"

    # Bob and Carol add bounty from the request page.
    for user, amount in ((bob, "150"), (carol, "100")):
        page = browser.new_page()
        log_in(page, asgi_server, user.username)
        page.navigate(f"{asgi_server}{request_path}")
        submit(page, "form.bounty-form", {"amount": amount})
        page.wait_for(f"location.pathname === {_js(request_path)} && "
                      "document.readyState === 'complete' && "
                      f"document.body.textContent.includes({_js(user.username + ' (you)')})",
                      timeout=WAIT, what=f"{user.username}'s bounty listed")

    # Alice keeps the request open in her tab, its live socket online.
    requester.navigate(f"{asgi_server}{request_path}")
    requester.wait_for("document.getElementById('live-notifications').dataset.state === "
                       "'online'", timeout=WAIT, what="alice's socket online")

    # Dave uploads a real .torrent through the upload form, then fills with its page link.
    torrent_file = tmp_path / "comet.torrent"
    torrent_file.write_bytes(libtorrent_make("v1", name="Night.Of.The.Comet.1984.1080p"))
    filler = browser.new_page()
    log_in(filler, asgi_server, dave.username)
    filler.navigate(f"{asgi_server}/torrents/upload/")
    filler.wait_for("location.pathname === '/torrents/upload/' && document.readyState === "
                    "'complete' && !!document.querySelector('input[name=torrent_file]')",
                    what="upload form")
    # The file input by its JavaScript object, not a DOM.getDocument node id: those went
    # stale now and then ("Could not find node with given id") when the document changed
    # between the two commands.
    field = filler.send("Runtime.evaluate", {
        "expression": "document.querySelector('input[name=torrent_file]')"})["result"]
    filler.send("DOM.setFileInputFiles", {"objectId": field["objectId"],
                                          "files": [str(torrent_file)]})
    submit(filler, "form.upload-form", {"category": str(category.pk),
                                        "title": "Night.Of.The.Comet.1984.1080p.BluRay-GRP"})
    torrent_path = wait_path(filler, r"^\/torrents\/[0-9a-f-]{36}\/$")
    filler.navigate(f"{asgi_server}{request_path}")
    submit(filler, "form.fill-form", {"torrent": f"{asgi_server}{torrent_path}"})
    filler.wait_for("document.readyState === 'complete' && "
                    "document.querySelector('.request-facts .status')?.textContent === 'Filled'",
                    timeout=WAIT, what="the request shown filled")

    # Alice's tab was told while it stayed open: the badge counts the notification.
    requester.wait_for("document.querySelector('#live-notifications .badge').textContent"
                       " === '1' && !document.querySelector('#live-notifications .badge')"
                       ".hidden", timeout=WAIT, what="alice's live notification")
    requester.navigate(f"{asgi_server}{request_path}")
    requester.wait_for("document.readyState === 'complete' && "
                       "!!document.querySelector('a.filled-torrent')", what="filled section")
    text = requester.evaluate("document.querySelector('article.request').textContent")
    assert "Night.Of.The.Comet.1984.1080p.BluRay-GRP" in text
    assert dave.username in requester.evaluate(
        "document.querySelector('.filler').textContent")
    assert re.search(r"Bounty\s*450\.00", text)

    assert (balance(alice), balance(bob), balance(carol), balance(dave)) == (
        Decimal("300"), Decimal("250"), Decimal("200"), Decimal("450"))
    for user in (alice, bob, carol):
        assert Notification.objects.filter(user=user, target_id=req.pk, kind="request_filled",
                                           title__contains="was filled").count() == 1
    call_command("bonus_verify_ledger")
    assert settings.REQUEST_MIN_BOUNTY
