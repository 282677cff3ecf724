"""Two members chat in real browsers: headless Chromium pages, each in its own browser
context (own cookies), log in through the login form, open #general, and talk through the
page's own form with JavaScript on; each sees the other's message arrive over the live
socket without reloading, and member HTML shows as text."""

from __future__ import annotations

import json

import pytest

from domain.community.models import ChatMessage
from tests.e2e.cdp import Browser, Page
from tests.factories import PASSWORD, make_user

WAIT = 10.0  # generous: a poll, not a timing assertion


def _js(value: str) -> str:
    return json.dumps(value)


def log_in(page: Page, base: str, username: str) -> None:
    page.navigate(f"{base}/login/")
    page.wait_for("document.readyState === 'complete' && "
                  "!!document.querySelector('form input[name=password]')", what="login form")
    page.evaluate(f"""(() => {{
        const form = document.querySelector('input[name=password]').form;
        form.querySelector('input[name=username]').value = {_js(username)};
        form.querySelector('input[name=password]').value = {_js(PASSWORD)};
        form.querySelector('button[type=submit]').click();
    }})()""")
    # Logged in: the login page redirected away and the page carries the live socket root.
    page.wait_for("location.pathname !== '/login/' && document.readyState === 'complete' && "
                  "!!document.getElementById('live-notifications')",
                  what=f"{username} logged in")


def open_room(page: Page, base: str, room: str) -> None:
    page.navigate(f"{base}/chat/{room}/")
    page.wait_for(f"location.pathname === {_js(f'/chat/{room}/')} && "
                  "document.readyState === 'complete'", what=f"#{room} loaded")
    # chat.js marks the room once the socket has subscribed to the room's stream.
    page.wait_for("document.getElementById('live-notifications').dataset.state === 'online'"
                  " && document.getElementById('chat-room').dataset.subscribed === '1'",
                  what=f"#{room} subscribed over the socket")


def say(page: Page, text: str) -> None:
    """Type into the chat input and press Send, as a member would."""
    page.evaluate("document.querySelector('.chat-form input[name=body]').focus()")
    page.insert_text(text)
    page.evaluate("document.querySelector('.chat-form button[type=submit]').click()")


def shown_bodies(page: Page) -> list[str]:
    value: list[str] = page.evaluate(
        "[...document.querySelectorAll('#chat-room .chat-message .body')]"
        ".map((el) => el.textContent)")
    return value


def wait_for_message(page: Page, text: str) -> None:
    page.wait_for(
        "[...document.querySelectorAll('#chat-room .chat-message .body')]"
        f".some((el) => el.textContent === {_js(text)})",
        timeout=WAIT, what=f"{text!r} shown")


@pytest.mark.django_db(transaction=True)
def test_two_members_chat_live_in_chromium(browser: Browser, asgi_server: str) -> None:
    alice = make_user("member")
    bob = make_user("member")
    page_a = browser.new_page()
    page_b = browser.new_page()

    log_in(page_a, asgi_server, alice.username)
    log_in(page_b, asgi_server, bob.username)
    # Separate contexts: each page is its own member.
    assert page_a.evaluate("document.body.innerText").count(alice.username) >= 1
    assert bob.username not in page_a.evaluate("document.body.innerText")

    open_room(page_a, asgi_server, "general")
    open_room(page_b, asgi_server, "general")
    # A full page load would drop these: they prove later messages arrived live.
    page_a.evaluate("window.__e2eMarker = 'still-here'")
    page_b.evaluate("window.__e2eMarker = 'still-here'")

    hello = "hello from alice <b>hi</b> & <script>window.__pwned = 1</script>"
    say(page_a, hello)
    wait_for_message(page_b, hello)
    assert page_b.evaluate("window.__e2eMarker") == "still-here"
    # Shown as text: no element made from member HTML, no script run.
    assert page_b.evaluate(
        "[...document.querySelectorAll('#chat-room .chat-message .body')]"
        ".every((el) => el.children.length === 0)") is True
    assert page_b.evaluate("window.__pwned === undefined") is True
    # Sent over the socket, not posted: the sender's page did not reload either, and
    # chat.js cleared its input once the server acknowledged the message.
    page_a.wait_for("document.querySelector('.chat-form input[name=body]').value === ''",
                    what="alice's input cleared")
    assert page_a.evaluate("window.__e2eMarker") == "still-here"

    row = ChatMessage.objects.get(body=hello)
    assert row.user_id == alice.pk
    assert row.room.name == "general"

    reply = "hi alice, bob here"
    say(page_b, reply)
    wait_for_message(page_a, reply)
    assert page_a.evaluate("window.__e2eMarker") == "still-here"
    assert page_b.evaluate("window.__e2eMarker") == "still-here"
    assert ChatMessage.objects.get(body=reply).user_id == bob.pk
    # Each member's page shows both messages once, in order.
    for page in (page_a, page_b):
        bodies = shown_bodies(page)
        assert bodies.count(hello) == 1 and bodies.count(reply) == 1
        assert bodies.index(hello) < bodies.index(reply)
