"""Losing access in Chromium (issues 12.1, 19.2): a VIP's open VIP chat room, when staff
move them back to member, gets the server's `unsubscribed` over the socket; live.js drops
the stream and chat.js reloads the page, which now refuses the room. No action of the
member's is needed, and a marker set on window proves the page did reload."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest

from domain.accounts.models import UserGroup
from domain.accounts.services import user_group_set
from tests.e2e.cdp import Browser
from tests.e2e.test_chat_browser import log_in, open_room
from tests.factories import make_user

WAIT = 15.0  # generous: a poll, not a timing assertion


@pytest.mark.django_db(transaction=True)
def test_a_demoted_vip_s_open_vip_room_is_ended_live(browser: Browser, asgi_server: str,
                                                     settings: Any) -> None:
    # The change is made here, so its event must reach the server's channel prefix.
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["prefix"] = f"e2e{os.getpid()}"
    settings.CHANNEL_LAYERS = layers
    vip, sysop = make_user("vip"), make_user("sysop")
    page = browser.new_page()
    log_in(page, asgi_server, vip.username)
    open_room(page, asgi_server, "vip")
    page.evaluate("""(() => {
        window.__notReloaded = true;
        document.addEventListener('live:unsubscribed', (event) => {
            sessionStorage.setItem('unsubscribed', JSON.stringify(event.detail));
        });
    })()""")

    user_group_set(actor=sysop, user=vip, group=UserGroup.objects.get(name="member"),
                   reason="Membership ended.")

    page.wait_for("window.__notReloaded !== true && document.readyState === 'complete'",
                  timeout=WAIT, what="the room page reloaded after the stream ended")
    frame = page.evaluate("JSON.parse(sessionStorage.getItem('unsubscribed') || 'null')")
    assert frame["type"] == "unsubscribed" and frame["stream"] == "chat:vip"
    assert frame["payload"]["reason"] == "group"
    assert page.evaluate("document.getElementById('chat-room') === null") is True
