"""The home page's chat preview follows #general live in headless Chromium: bob's open home
page shows alice's message when she sends it from the chat page in her own browser (over
the site's socket, as a member would), as text, without a reload; and loses it when she
deletes it."""

from __future__ import annotations

import json

import pytest

from domain.community.models import ChatMessage
from tests.e2e.cdp import Browser, Page
from tests.e2e.test_chat_browser import WAIT, log_in, open_room, say, wait_for_message
from tests.factories import make_user


def _js(value: str) -> str:
    return json.dumps(value)


def preview(page: Page) -> list[str]:
    value: list[str] = page.evaluate(
        "[...document.querySelectorAll('#home-chat .home-chat-message')]"
        ".map((li) => li.querySelector('.author').textContent + ': ' +"
        " li.querySelector('.body').textContent)")
    return value


@pytest.mark.django_db(transaction=True)
def test_the_home_chat_preview_follows_the_room(browser: Browser, asgi_server: str) -> None:
    alice = make_user("member")
    bob = make_user("member")
    page_a = browser.new_page()
    page_b = browser.new_page()
    log_in(page_a, asgi_server, alice.username)
    log_in(page_b, asgi_server, bob.username)
    open_room(page_a, asgi_server, "general")
    say(page_a, "before bob looked")
    wait_for_message(page_a, "before bob looked")

    page_b.navigate(f"{asgi_server}/")
    page_b.wait_for("document.readyState === 'complete' && "
                    "document.getElementById('home-chat')?.dataset.subscribed === '1'",
                    what="home chat preview subscribed")
    # Rendered by the server, and not repeated by the socket's catch-up.
    assert preview(page_b) == [f"{alice.username}: before bob looked"]
    page_b.evaluate("window.__e2eMarker = 'still-here'")

    hello = "live to the home page <b>hi</b> <script>window.__pwned = 1</script>"
    say(page_a, hello)
    page_b.wait_for("[...document.querySelectorAll('#home-chat .home-chat-message .body')]"
                    f".some((el) => el.textContent === {_js(hello)})",
                    timeout=WAIT, what="the new message on bob's home page")
    assert page_b.evaluate("window.__e2eMarker") == "still-here"
    assert preview(page_b) == [f"{alice.username}: before bob looked",
                               f"{alice.username}: {hello}"]
    # Shown as text, the author linked to their profile.
    assert page_b.evaluate(
        "[...document.querySelectorAll('#home-chat .body')].every((el) => !el.children.length)"
        " && window.__pwned === undefined") is True
    assert page_b.evaluate(
        "document.querySelector('#home-chat .home-chat-message:last-child a.member')"
        ".getAttribute('href')") == f"/users/{alice.username}/"

    # Alice deletes it from the chat page: it leaves bob's preview.
    message = ChatMessage.objects.get(body=hello)
    page_a.evaluate(f"document.querySelector('#msg-{message.pk} .chat-delete').click()")
    page_b.wait_for("[...document.querySelectorAll('#home-chat .home-chat-message')]"
                    f".every((li) => li.dataset.id !== {_js(str(message.pk))})",
                    timeout=WAIT, what="the deleted message gone from bob's home page")
    assert preview(page_b) == [f"{alice.username}: before bob looked"]
    assert page_b.evaluate("window.__e2eMarker") == "still-here"
