"""Every field of the browse pages' filter forms has a visible <label for> (issue 18.6): a
placeholder or an aria-label alone is gone once the member types, or never shown. Every
page's controls are checked for an accessible name in the browser by
tests/e2e/test_every_page_browser.py."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.factories import make_user

pytestmark = pytest.mark.django_db


class FilterForm(HTMLParser):
    """The fields of form.browse-filters and the labels' for= targets, with their text."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.fields: list[dict[str, str | None]] = []
        self.labels: dict[str, str] = {}
        self.label_for: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and a.get("class") == "browse-filters":
            self.depth = 1
        elif not self.depth:
            return
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "checkbox"):
            self.fields.append(a)
        target = a.get("for")
        if tag == "label" and target:
            self.label_for = target
            self.labels[target] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.depth = 0
        if tag == "label":
            self.label_for = None

    def handle_data(self, data: str) -> None:
        if self.label_for:
            self.labels[self.label_for] += data.strip()


@pytest.mark.parametrize("path", ["/torrents/", "/requests/", "/collections/"])
def test_every_browse_filter_has_a_visible_label(path):
    client = Client()
    client.force_login(make_user())
    parser = FilterForm()
    parser.feed(client.get(path).content.decode())
    assert len(parser.fields) >= 4
    for field in parser.fields:
        assert field.get("id") in parser.labels, field
        assert parser.labels[str(field["id"])], field
        assert "aria-label" not in field  # the visible label is the name
