"""The base page's theme toggle, skip link and keyboard-reachable header (issue 18.6), as
the server sends them to a visitor and to a member. How they behave in a browser is
tests/e2e/test_theme_browser.py and tests/e2e/a11y.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from tests.factories import make_user

pytestmark = pytest.mark.django_db


class Tags(HTMLParser):
    """Every start tag in order, with where it is (in <head> or not)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None], bool]] = []
        self.in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self.in_head = True
        self.tags.append((tag, dict(attrs), self.in_head))

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False


def tags(html: str) -> list[tuple[str, dict[str, str | None], bool]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def the(found: list[tuple[str, dict[str, str | None], bool]], tag: str,
        **attrs: str) -> tuple[dict[str, str | None], bool]:
    matches = [(a, head) for t, a, head in found
               if t == tag and all(a.get(k) == v for k, v in attrs.items())]
    assert len(matches) == 1, (tag, attrs, matches)
    return matches[0]


def pages() -> list[str]:
    visitor = Client().get("/login/").content.decode()
    member = Client()
    member.force_login(make_user())
    return [visitor, member.get("/").content.decode(), member.get("/torrents/").content.decode()]


def test_every_page_loads_the_theme_script_in_its_head_and_has_the_toggle():
    for html in pages():
        found = tags(html)
        script, in_head = the(found, "script", src="/static/js/theme.js")
        # A classic script (not a deferred module) so a kept choice applies before paint.
        assert in_head and "type" not in script and "defer" not in script
        button, in_head = the(found, "button", id="theme-toggle")
        assert not in_head
        # Hidden until theme.js shows it: without scripts the system's theme applies.
        assert button["type"] == "button" and "hidden" in button
        assert button["aria-pressed"] == "false" and button["title"] == "Dark theme"
        assert re.search(r'id="theme-toggle"[^>]*>.*?<span class="visually-hidden">Dark theme'
                         r"</span></button>", html)
        # No inline script or style anywhere (the CSP forbids both).
        assert all(a.get("src") for t, a, _ in found if t == "script")
        assert not any("style" in a or any(k.startswith("on") for k in a)
                       for _, a, _ in found)


def test_the_skip_link_is_the_first_link_and_targets_main():
    for html in pages():
        body = [(t, a) for t, a, head in tags(html) if not head and t != "body"]
        first_focusable = next((t, a) for t, a in body
                               if t in ("a", "button", "input", "select", "textarea"))
        assert first_focusable == ("a", {"class": "skip-link", "href": "#content"})
        assert ">Skip to content</a>" in html
        main, _ = the(tags(html), "main")
        assert main["id"] == "content"


def test_the_notifications_indicator_is_a_link_not_a_clickable_span():
    member = Client()
    member.force_login(make_user())
    found = tags(member.get("/").content.decode())
    link, _ = the(found, "a", id="live-notifications")
    assert link["href"] == "/notifications/" and link["data-socket-path"] == "/ws/"
    assert not [a for t, a, _ in found if t == "span" and a.get("id") == "live-notifications"]


def test_the_theme_script_and_styles_exist():
    script = finders.find("js/theme.js")
    css = finders.find("css/site.css")
    assert script and css
    with open(script) as f:
        source = f.read()
    assert "localStorage" in source and "dataset.theme" in source
    with open(css) as f:
        styles = f.read()
    assert "@media (prefers-color-scheme: dark)" in styles
    assert ':root[data-theme="dark"]' in styles and ":focus-visible" in styles
