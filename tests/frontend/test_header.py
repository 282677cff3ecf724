"""The header a member sees on every page: their upload, download, ratio, bonus, seeding,
leeching and hit-and-run figures, the messages badge; kept current by member.stats events
that beat's member_stats_publish sends for the members whose figures moved."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from domain.accounts.models import User, UserStatistics
from domain.bonus.services import bonus_gift
from domain.community.models import Notification
from domain.memberstats import member_stats_publish
from domain.tracker.flush import user_peer_counts_refresh
from domain.tracker.models import TorrentHistory
from tests.domain.bonus.factories import fund, peer
from tests.factories import make_torrent, make_user

GIB = 1024**3
pytestmark = pytest.mark.django_db


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def stat(html: str, name: str) -> str:
    start = html.index(f'data-stat="{name}"')
    return html[html.index(">", start) + 1:html.index("</span>", start)]


def test_the_header_shows_the_members_own_figures(django_capture_on_commit_callbacks):
    member = make_user()
    UserStatistics.objects.update_or_create(user=member, defaults={
        "uploaded": 3 * GIB, "downloaded": 2 * GIB, "seeding_count": 4, "leeching_count": 1})
    with django_capture_on_commit_callbacks(execute=True):
        fund(member, 1234)
    TorrentHistory.objects.create(torrent=make_torrent(), user=member, hnr_at=timezone.now())

    html = logged_in(member).get("/").content.decode()

    assert 'id="member-stats"' in html
    assert stat(html, "uploaded") == "3.00 GiB"
    assert stat(html, "downloaded") == "2.00 GiB"
    assert stat(html, "ratio") == "1.50"
    assert stat(html, "bonus") == "1234.00"
    assert stat(html, "seeding") == "4"
    assert stat(html, "leeching") == "1"
    assert stat(html, "hnr") == "1"
    assert 'id="live-messages" class="live-messages" href="/messages/"' in html
    # Only the member's own figures: another member's page shows theirs.
    other = logged_in(make_user()).get("/").content.decode()
    assert stat(other, "uploaded") == "0 B" and stat(other, "ratio") == "—"


def test_a_change_shows_on_the_next_page_and_goes_live_once(
        django_capture_on_commit_callbacks, published_events):
    alice, bob = make_user(), make_user()
    with django_capture_on_commit_callbacks(execute=True):
        fund(alice, 100)
    client = logged_in(bob)
    assert stat(client.get("/").content.decode(), "bonus") == "0.00"
    member_stats_publish()  # what funding marked
    published_events.clear()

    with django_capture_on_commit_callbacks(execute=True):
        bonus_gift(sender=alice, recipient_username=bob.username, amount="25")
    # The cached figures were dropped at commit: the next page has the new balance.
    assert stat(client.get("/").content.decode(), "bonus") == "25.00"

    with django_capture_on_commit_callbacks(execute=True):
        assert member_stats_publish() == 2
    sent = {group: payload for group, kind, payload in published_events
            if kind == "member.stats"}
    assert sent[f"user.{bob.id}"]["bonus"] == "25.00"
    assert Decimal(sent[f"user.{alice.id}"]["bonus"]) < 100
    published_events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert member_stats_publish() == 0  # each marked member is sent once
    assert published_events == []


def test_peer_counts_refreshed_by_the_reaper_mark_the_member(
        django_capture_on_commit_callbacks, published_events):
    from django.db import connection

    member = make_user()
    UserStatistics.objects.get_or_create(user=member)
    peer(user=member, torrent=make_torrent(), seeder=True)
    peer(user=member, torrent=make_torrent(), seeder=False)
    with django_capture_on_commit_callbacks(execute=True), connection.cursor() as cur:
        user_peer_counts_refresh(cur, [str(member.id)])
    with django_capture_on_commit_callbacks(execute=True):
        assert member_stats_publish() == 1
    (payload,) = [p for g, k, p in published_events if k == "member.stats"]
    assert (payload["seeding"], payload["leeching"]) == (1, 1)


def test_the_header_costs_no_query_once_cached(django_assert_num_queries):
    member = make_user()
    client = logged_in(member)
    client.get("/")
    from domain.memberstats import member_stats_get

    with django_assert_num_queries(0):
        assert member_stats_get(member.id) is not None


def test_a_tracker_flush_marks_the_members_it_credited(
        settings, django_capture_on_commit_callbacks, published_events):
    from domain.tracker.flush import tracker_flush
    from tests.announce.factories import announce, peer_id

    settings.TRACKER_MIN_INTERVAL = 0
    member = make_user()
    torrent = make_torrent()
    pid = peer_id()
    announce(member, bytes(torrent.info_hash_v1), pid, uploaded=0, left=0, event="started")
    announce(member, bytes(torrent.info_hash_v1), pid, uploaded=5 * GIB, left=0)
    with django_capture_on_commit_callbacks(execute=True):
        assert tracker_flush() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert member_stats_publish() == 1
    (payload,) = [p for g, k, p in published_events
                  if k == "member.stats" and g == f"user.{member.id}"]
    # What the flush credited (the claim is bounded by the rate a peer can reach).
    credited = UserStatistics.objects.get(user=member).uploaded
    assert payload["uploaded"] == credited > 0 and payload["seeding"] == 1


def test_an_earning_period_marks_the_members_it_paid(
        django_capture_on_commit_callbacks, published_events):
    from datetime import UTC, datetime, timedelta

    from domain.bonus.earning import bonus_award_period
    from tests.domain.bonus.factories import history, seeders

    start = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    member = make_user()
    torrent = make_torrent()
    seeders(torrent, 20)
    history(user=member, torrent=torrent, recorded_at=start + timedelta(minutes=30),
            seedtime=3600)
    with django_capture_on_commit_callbacks(execute=True):
        bonus_award_period(period_start=start, period_end=start + timedelta(hours=1),
                           now=start + timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert member_stats_publish() >= 1
    sent = {g: p for g, k, p in published_events if k == "member.stats"}
    assert Decimal(sent[f"user.{member.id}"]["bonus"]) > 0


def badge(html: str, label: str) -> tuple[str, bool]:
    """The text of the header badge labelled `label` and whether it is hidden."""
    start = html.index(f'aria-label="{label}"')
    tag_end = html.index(">", start)
    return html[tag_end + 1:html.index("</span>", tag_end)], " hidden" in html[start:tag_end]


def test_the_unread_badges_are_in_the_page_before_any_socket():
    from domain.community.notifications import notification_send
    from domain.community.services import pm_send

    member, sender = make_user(), make_user()
    client = logged_in(member)
    html = client.get("/").content.decode()
    assert badge(html, "Unread messages") == ("0", True)
    assert badge(html, "Unread notifications") == ("0", True)

    pm_send(sender=sender, recipient_username=member.username, subject="Hi", body="One")
    pm_send(sender=sender, recipient_username=member.username, subject="Hi", body="Two")
    notification_send(user_id=member.id, kind="system", title="Welcome")
    # Another member's unread items are not this member's.
    pm_send(sender=member, recipient_username=sender.username, subject="Re", body="Back")

    html = client.get("/").content.decode()
    assert badge(html, "Unread messages") == ("2", False)
    # Each message also notifies (domain.community.services._pm_deliver), after commit.
    notifications = Notification.objects.filter(user=member, read_at__isnull=True).count()
    assert notifications >= 1
    assert badge(html, "Unread notifications") == (str(notifications), False)
    # Every page with the header, not only the home page.
    assert badge(client.get("/torrents/").content.decode(), "Unread messages") == ("2", False)


def test_a_badge_past_99_reads_99_plus():
    from domain.community.notifications import notification_send

    member = make_user()
    for i in range(100):
        notification_send(user_id=member.id, kind="system", title=f"N{i}")
    html = logged_in(member).get("/").content.decode()
    assert badge(html, "Unread notifications") == ("99+", False)
    assert 'data-unread="100"' in html
