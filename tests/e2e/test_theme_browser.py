"""The theme toggle in headless Chromium (issue 18.6): without a choice the page follows
the system's light or dark preference, with scripts off too; the header's toggle, pressed
from the keyboard, switches the theme, is kept across a reload and a member's login, and
wins over the system's preference; the live header still goes online beside it."""

from __future__ import annotations

import pytest

from tests.e2e.a11y import press
from tests.e2e.cdp import Browser, Page
from tests.e2e.test_chat_browser import WAIT, log_in
from tests.e2e.test_front_pages_browser import GUARD
from tests.factories import make_user

# The root's background as "dark" (luminance under 0.2) or "light".
SHOWN = """(() => {
  const [r, g, b] = getComputedStyle(document.documentElement).backgroundColor
    .match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255 < 0.2 ? 'dark' : 'light';
})()"""


def system(page: Page, scheme: str) -> None:
    page.send("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": scheme}]})


def load(page: Page, url: str) -> None:
    page.navigate(url)
    page.wait_for(f"location.href === {url!r} && document.readyState === 'complete' && "
                  "!document.getElementById('theme-toggle').hidden", what=f"{url} loaded")


def state(page: Page) -> dict[str, object]:
    value: dict[str, object] = page.evaluate(f"""({{
        shown: {SHOWN},
        chosen: document.documentElement.dataset.theme || null,
        kept: localStorage.getItem('theme'),
        pressed: document.getElementById('theme-toggle').getAttribute('aria-pressed'),
    }})""")
    return value


def toggle_from_keyboard(page: Page) -> None:
    """Tab from the skip link (the page's first stop) until the toggle has focus, then
    press Enter."""
    page.evaluate("document.querySelector('.skip-link').focus()")
    for _ in range(40):
        press(page, "Tab", 9)
        if page.evaluate("document.activeElement?.id === 'theme-toggle'"):
            break
    else:
        raise AssertionError("Tab never reached the theme toggle")
    assert page.evaluate("document.activeElement.matches(':focus-visible')")
    press(page, "Enter", 13)


@pytest.mark.django_db(transaction=True)
def test_the_theme_follows_the_system_until_the_member_chooses(browser: Browser,
                                                               asgi_server: str) -> None:
    member = make_user()
    page = browser.new_page()
    page.send("Page.addScriptToEvaluateOnNewDocument", {"source": GUARD})
    page.send("Emulation.setFocusEmulationEnabled", {"enabled": True})
    login = f"{asgi_server}/login/"

    system(page, "light")
    load(page, login)
    assert state(page) == {"shown": "light", "chosen": None, "kept": None, "pressed": "false"}
    system(page, "dark")
    page.wait_for("document.getElementById('theme-toggle').getAttribute('aria-pressed') "
                  "=== 'true'", what="the toggle following the system")
    assert state(page) == {"shown": "dark", "chosen": None, "kept": None, "pressed": "true"}

    # Light chosen over the system's dark: kept across a reload.
    toggle_from_keyboard(page)
    assert state(page) == {"shown": "light", "chosen": "light", "kept": "light",
                           "pressed": "false"}
    load(page, login)
    assert state(page) == {"shown": "light", "chosen": "light", "kept": "light",
                           "pressed": "false"}

    # Dark chosen over the system's light, kept after logging in; the header is live.
    system(page, "light")
    toggle_from_keyboard(page)
    assert state(page)["shown"] == "dark"
    log_in(page, asgi_server, member.username)
    page.wait_for("document.getElementById('live-notifications').dataset.state === 'online'"
                  " && !document.getElementById('theme-toggle').hidden", timeout=WAIT,
                  what="the member's page with its live header")
    assert state(page) == {"shown": "dark", "chosen": "dark", "kept": "dark", "pressed": "true"}
    assert page.evaluate("window.__problems") == []


@pytest.mark.django_db(transaction=True)
def test_without_scripts_the_system_theme_applies(browser: Browser, asgi_server: str) -> None:
    page = browser.new_page()
    page.send("Emulation.setScriptExecutionDisabled", {"value": True})
    for scheme in ("dark", "light"):
        system(page, scheme)
        page.navigate(f"{asgi_server}/login/")
        page.wait_for("document.readyState === 'complete' && "
                      "!!document.getElementById('theme-toggle')", what="the login page")
        assert page.evaluate(SHOWN) == scheme
        # The toggle needs the script: it stays hidden.
        assert page.evaluate("document.getElementById('theme-toggle').hidden")
        assert page.evaluate("document.documentElement.dataset.theme") is None
