"""live.js catching up after a reconnect, in headless Chromium: a message stamped before
one the tab already saw but committed while the tab was offline is shown after the
reconnect, and nothing the tab already had reaches the page a second time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.community.models import ChatMessage
from tests.e2e.cdp import Browser
from tests.e2e.test_chat_browser import WAIT, log_in, open_room, say, wait_for_message
from tests.factories import make_user

# The tab's own live.js module: chat.js imports it as "./live.js", so the same URL
# resolves to the same instance.
LIVE = ("import(new URL('./live.js', document.querySelector('script[src*=\"chat.js\"]').src)"
        ".href)")


@pytest.mark.django_db(transaction=True)
def test_reconnect_catches_up_an_out_of_order_message_once(browser: Browser,
                                                           asgi_server: str) -> None:
    alice = make_user("member")
    page = browser.new_page()
    log_in(page, asgi_server, alice.username)
    open_room(page, asgi_server, "general")
    # Every chat event the page's handlers get, by message id.
    page.evaluate("""(() => {
        window.__chatEvents = [];
        document.addEventListener('live:event', (e) => {
            if (e.detail.event === 'chat.message') window.__chatEvents.push(e.detail.payload.id);
        });
    })()""")

    say(page, "B")
    wait_for_message(page, "B")
    b = ChatMessage.objects.get(body="B")
    page.wait_for(f"window.__chatEvents.includes({str(b.id)!r})", what="B arrived live")

    # Offline, and held there until the late row is in.
    page.evaluate(f"{LIVE}.then((m) => {{ m.live.stopped = true; m.live.abandon(); }})")
    page.wait_for("document.getElementById('live-notifications').dataset.state === 'offline'",
                  what="socket offline")
    a = ChatMessage.objects.create(room=b.room, user=alice, body="A",
                                   created_at=b.created_at - timedelta(seconds=2))
    page.evaluate(f"{LIVE}.then((m) => {{ m.live.stopped = false; m.live.reconnectNow(); }})")

    wait_for_message(page, "A")
    page.wait_for("document.getElementById('live-notifications').dataset.state === 'online'",
                  timeout=WAIT, what="socket back online")
    # Let anything else the replay would send arrive before counting.
    page.evaluate("new Promise((resolve) => setTimeout(resolve, 1000))")
    events = page.evaluate("window.__chatEvents")
    assert events.count(str(a.id)) == 1
    assert events.count(str(b.id)) == 1
    bodies = page.evaluate("[...document.querySelectorAll('#chat-room .chat-message .body')]"
                           ".map((el) => el.textContent)")
    assert bodies.count("A") == 1 and bodies.count("B") == 1


@pytest.mark.django_db(transaction=True)
def test_a_tab_reconnects_after_a_server_restart_and_catches_up(browser: Browser,
                                                                daphne_server) -> None:
    """The server process stops and starts again (a deploy): the open tab goes offline,
    comes back by itself (live.js backoff) and shows what was posted while it was down,
    once, without a reload."""
    from domain.community.services import chat_message_post

    alice, bob = make_user("member"), make_user("member")
    base = daphne_server.url
    page = browser.new_page()
    log_in(page, base, alice.username)
    open_room(page, base, "general")
    page.evaluate("window.__notReloaded = true")
    say(page, "before the restart")
    wait_for_message(page, "before the restart")

    daphne_server.stop()
    page.wait_for("document.getElementById('live-notifications').dataset.state !== 'online'",
                  timeout=WAIT, what="the tab noticing the server is gone")
    chat_message_post(user=bob, room_name="general", body="while the server was down")
    daphne_server.start()

    # Backoff doubles from 1 s while the server starts: a wider poll than WAIT.
    page.wait_for("[...document.querySelectorAll('#chat-room .chat-message .body')]"
                  ".some((el) => el.textContent === 'while the server was down')",
                  timeout=45, what="the message posted while down, after the reconnect")
    page.wait_for("document.getElementById('live-notifications').dataset.state === 'online'",
                  timeout=WAIT, what="socket back online")
    assert page.evaluate("window.__notReloaded === true")
    bodies = page.evaluate("[...document.querySelectorAll('#chat-room .chat-message .body')]"
                           ".map((el) => el.textContent)")
    assert bodies.count("while the server was down") == 1
    assert bodies.count("before the restart") == 1
