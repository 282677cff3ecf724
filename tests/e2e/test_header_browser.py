"""The live header in headless Chromium: bob's open home page shows his bonus balance and
unread messages change without a reload when alice, in her own browser, gifts him points
and sends him a message through the site's forms. The message badge follows the pm.new
event the server sends; the bonus figure follows the member.stats event that beat's
member_stats_publish sends for the members the gift marked (run here as beat would run
it, on the server's channel prefix)."""

from __future__ import annotations

import json
import os

import pytest
from channels.layers import channel_layers

from tests.domain.bonus.factories import fund
from tests.e2e.cdp import Browser, Page
from tests.e2e.test_chat_browser import WAIT, log_in
from tests.factories import make_user


def _js(value: str) -> str:
    return json.dumps(value)


def submit(page: Page, base: str, path: str, fields: dict[str, str]) -> None:
    page.navigate(f"{base}{path}")
    first = next(iter(fields))
    page.wait_for(f"document.readyState === 'complete' && "
                  f"!!document.querySelector('form [name={first}]')", what=f"{path} form")
    page.evaluate(f"""(() => {{
        const fields = {json.dumps(fields)};
        const form = document.querySelector('form [name={first}]').form;
        for (const [name, value] of Object.entries(fields)) form.elements[name].value = value;
        form.querySelector('button[type=submit]').click();
    }})()""")
    page.wait_for(f"location.pathname !== {_js(path)} || "
                  "!!document.querySelector('.messages .message')", what=f"{path} posted")


def header(page: Page, name: str) -> str:
    value: str = page.evaluate(
        f"document.querySelector('#member-stats [data-stat={name}]').textContent")
    return value


@pytest.fixture
def server_channel_layer(settings, asgi_server):
    """This process's channel layer on the e2e server's prefix: what its beat would use."""
    config = {**settings.CHANNEL_LAYERS["default"]}
    config["CONFIG"] = {**config["CONFIG"], "prefix": f"e2e{os.getpid()}"}
    settings.CHANNEL_LAYERS = {"default": config}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.mark.django_db(transaction=True)
def test_the_header_follows_a_gift_and_a_message_live(browser: Browser, asgi_server: str,
                                                     server_channel_layer) -> None:
    from domain.memberstats import member_stats_publish

    alice, bob = make_user("member"), make_user("member")
    fund(alice, 500)
    member_stats_publish()  # what funding marked, before bob's page is open
    bob_page, alice_page = browser.new_page(), browser.new_page()
    log_in(bob_page, asgi_server, bob.username)
    bob_page.navigate(f"{asgi_server}/")
    bob_page.wait_for("document.readyState === 'complete' && document.getElementById("
                      "'live-notifications').dataset.state === 'online'", what="bob online")
    bob_page.evaluate("window.__notReloaded = true")
    assert header(bob_page, "bonus") == "0.00"
    assert bob_page.evaluate("document.querySelector('#live-messages .badge').hidden")

    log_in(alice_page, asgi_server, alice.username)
    submit(alice_page, asgi_server, "/messages/new/",
           {"recipient": bob.username, "subject": "hello", "body": "a message for bob"})
    bob_page.wait_for("document.querySelector('#live-messages .badge').textContent === '1' "
                      "&& !document.querySelector('#live-messages .badge').hidden",
                      timeout=WAIT, what="bob's messages badge at 1")

    submit(alice_page, asgi_server, "/bonus/",
           {"recipient": bob.username, "amount": "30", "message": "for you"})
    assert member_stats_publish() >= 1  # beat's run: bob (and alice) were marked
    bob_page.wait_for("document.querySelector('#member-stats [data-stat=bonus]')"
                      ".textContent === '30.00'", timeout=WAIT, what="bob's bonus at 30.00")
    assert bob_page.evaluate("window.__notReloaded === true")
    # Alice's own header shows her new balance on her next page.
    alice_page.navigate(f"{asgi_server}/")
    alice_page.wait_for("document.readyState === 'complete'", what="alice home")
    assert header(alice_page, "bonus") == "470.00"
