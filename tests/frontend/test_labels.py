"""Every field of the browse pages' filter forms has a visible <label for> (issue 18.6): a
placeholder or an aria-label alone is gone once the member types, or never shown. The
moderation feed's repeated resolve forms are named without repeating ids. Every page's
controls are checked for an accessible name in the browser by
tests/e2e/test_every_page_browser.py."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

import pytest
from django.test import Client

from domain.community.models import Forum
from domain.community.services import forum_topic_create
from domain.moderation.reports import report_file
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


def test_the_moderation_feed_names_each_resolve_form_without_repeating_ids():
    author, moderator = make_user(), make_user("moderator")
    forum = Forum.objects.get(slug="general")
    for n in range(2):
        topic = forum_topic_create(user=author, forum_id=forum.pk, title=f"T{n}", body="Rude")
        report_file(reporter=make_user(), target_type="forum_post",
                    target_id=topic.posts.get().pk, reason="abuse")
    client = Client()
    client.force_login(moderator)
    html = client.get("/moderation/feed/").content.decode()
    notes = re.findall(r"<textarea[^>]*>", html)
    assert len(notes) == 2 and all('aria-label="Resolution note"' in t for t in notes)
    ids = Counter(re.findall(r'\sid="([^"]+)"', html))
    assert [i for i, n in ids.items() if n > 1] == []
