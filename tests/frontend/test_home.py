"""The home page a member keeps open: announcements, featured, freeleech and latest
torrents, the week's top torrents, site figures, who is online (paranoia honoured) and a
chat preview; the shared parts cached, so a page view costs a handful of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from domain.accounts.models import User, UserPrivacy
from domain.catalog.models import Top10Entry
from domain.community.models import Forum
from domain.community.services import chat_message_post, forum_topic_create
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start:html.index("</section>", start)]


def test_the_home_page_shows_what_the_site_has_now(django_assert_max_num_queries):
    staff = make_user("sysop")
    member = make_user()
    make_torrent(name="Featured.Film.2024", is_featured=True)
    make_torrent(name="Free.Show.S01", is_freeleech=True)
    make_torrent(name="Expired.Free", is_freeleech=True,
                 freeleech_until=timezone.now() - timedelta(hours=1))
    make_torrent(name="Pending.Upload", status="pending")
    week_top = make_torrent(name="Busy.Swarm")
    Top10Entry.objects.create(board="active", period="week", rank=1, target_id=week_top.pk,
                              label="Busy.Swarm", value=42)
    announcements = Forum.objects.get(slug="announcements")
    forum_topic_create(user=staff, forum_id=announcements.pk, title="Site news: v2 torrents",
                       body="They work now.")
    chat_message_post(user=member, room_name="general", body="hello <b>room</b>")
    hiding = make_user(last_seen_at=timezone.now())
    UserPrivacy.objects.update_or_create(user=hiding, defaults={"show_last_seen": False})
    User.objects.filter(pk=member.pk).update(last_seen_at=timezone.now())

    client = logged_in(member)
    html = client.get("/").content.decode()

    news = section(html, "home-announcements")
    assert "Site news: v2 torrents" in news
    assert f'href="/users/{staff.username}/"' in news
    assert "Featured.Film.2024" in section(html, "home-featured")
    free = section(html, "home-freeleech")
    assert "Free.Show.S01" in free and "Expired.Free" not in free
    assert 'class="badge promo freeleech"' in free
    latest = section(html, "home-latest")
    assert "Busy.Swarm" in latest and "Pending.Upload" not in latest
    assert "Busy.Swarm" in section(html, "home-top")
    figures = section(html, "home-figures")
    assert "<dt>Torrents</dt><dd>4</dd>" in figures  # the approved ones
    online = section(html, "home-online")
    assert f'<a class="member" href="/users/{member.username}/">{member.username}</a>' in online
    assert hiding.username not in online
    chat = section(html, "home-chat")
    assert "hello &lt;b&gt;room&lt;/b&gt;" in chat and "<b>room</b>" not in chat

    # Warm: the shared parts come from the cache.
    with django_assert_max_num_queries(6):
        assert client.get("/").status_code == 200


def test_an_empty_site_says_so():
    html = logged_in(make_user()).get("/").content.decode()
    assert "Nothing featured right now." in html
    assert "No torrents yet." in html
    assert "The week&#x27;s list is not computed yet." in html or \
        "The week's list is not computed yet." in html
