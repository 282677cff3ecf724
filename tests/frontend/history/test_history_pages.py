"""History pages as members and staff see them: a member's lists with per-torrent figures,
hit-and-run states and status, sorting and pages; paranoia on others' lists; a torrent's
peers and snatches with hidden members anonymous (staff see through); promotion badges on
the torrent page, in browse and in the lists."""

from __future__ import annotations

import re

import pytest
from django.test import Client as Browser
from django.utils import timezone

from domain.accounts.models import UserPrivacy
from domain.bonus.models import FreeleechToken, TokenStatus
from domain.tracker.flush import tracker_flush
from domain.tracker.models import TorrentHistory
from tests.domain.tracker.hnr_helpers import MB, Client
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_min_interval(settings):
    settings.TRACKER_MIN_INTERVAL = 0


def login(user) -> Browser:
    b = Browser()
    b.force_login(user)
    return b


def hide(user, **settings) -> None:
    UserPrivacy.objects.filter(user=user).update(**settings)


def snatch(user, torrent, *, keep_seeding: bool = True) -> Client:
    c = Client(user, torrent)
    c.ok("started")
    c.downloaded = int(torrent.size)
    c.uploaded = int(torrent.size) // 4
    c.ok("completed")
    if not keep_seeding:
        c.ok("stopped")
    tracker_flush()
    return c


def rows(html: str, cls: str) -> list[str]:
    return re.findall(rf'<tr class="{cls}"[^>]*>(.*?)</tr>', html, re.S)


def test_own_snatched_list_shows_figures_hit_and_run_state_and_status(member):
    torrent = make_torrent(name="Own.Snatch", size=40 * 1024 * 1024)  # 40.0 MB as shown
    snatch(member, torrent, keep_seeding=False)
    html = login(member).get(f"/users/{member.username}/history/snatched/").content.decode()
    (row,) = rows(html, "history-row")
    assert "Own.Snatch" in row and "40.0\xa0MB" in row and "10.0\xa0MB" in row
    assert 'class="ratio">0.25<' in row
    assert "qBittorrent" in row
    assert 'class="hnr-state">owed (72.0 h owed)' in row
    assert "0 active (limit 3)" in html and 'class="downloads-allowed">allowed' in html
    assert login(member).get("/history/")["Location"] == \
        f"/users/{member.username}/history/snatched/"


def test_seeding_and_leeching_lists_follow_the_swarm(member):
    seeding, leeching = make_torrent(name="Seeding.One"), make_torrent(name="Leeching.One")
    snatch(member, seeding)
    c = Client(member, leeching)
    c.ok("started")
    tracker_flush()
    b = login(member)
    seed_html = b.get(f"/users/{member.username}/history/seeding/").content.decode()
    leech_html = b.get(f"/users/{member.username}/history/leeching/").content.decode()
    assert "Seeding.One" in seed_html and "Leeching.One" not in seed_html
    assert "Leeching.One" in leech_html and "Seeding.One" not in leech_html
    assert "hnr-state" in seed_html  # the member sees their own states


def test_sorted_and_paged(member, settings):
    import domain.catalog.tracker_selectors as sel

    for n, size in enumerate([30, 10, 20]):
        snatch(member, make_torrent(name=f"Sorted.{n}", size=size * MB))
    b = login(member)
    html = b.get(f"/users/{member.username}/history/snatched/?sort=size&order=asc"
                 ).content.decode()
    assert re.findall(r"Sorted\.\d", html) == ["Sorted.1", "Sorted.2", "Sorted.0"]
    old = sel.PER_PAGE
    sel.PER_PAGE = 2
    try:
        page2 = b.get(f"/users/{member.username}/history/snatched/?sort=size&order=asc&page=2"
                      ).content.decode()
    finally:
        sel.PER_PAGE = old
    assert re.findall(r"Sorted\.\d", page2) == ["Sorted.0"]
    assert "Page 2 of 2" in page2
    # Hostile sort and page values are a 200 with the defaults, never an error page.
    odd = b.get(f"/users/{member.username}/history/snatched/?sort=%27;drop&page=-5")
    assert odd.status_code == 200 and len(rows(odd.content.decode(), "history-row")) == 3


def test_others_see_what_paranoia_allows_and_no_hit_and_run_states(member, moderator):
    owner = make_user("member")
    snatch(owner, make_torrent(name="Their.Snatch"))
    other = login(member)
    html = other.get(f"/users/{owner.username}/history/snatched/").content.decode()
    assert "Their.Snatch" in html and "hnr-state" not in html and "hnr-status" not in html
    hide(owner, show_snatched=False)
    hidden = other.get(f"/users/{owner.username}/history/snatched/")
    assert hidden.status_code == 403 and b"Their.Snatch" not in hidden.content
    profile = other.get(f"/users/{owner.username}/").content.decode()
    assert "/history/snatched/" not in profile and "/history/seeding/" in profile
    staff = login(moderator).get(f"/users/{owner.username}/history/snatched/")
    assert staff.status_code == 200 and b"Their.Snatch" in staff.content
    assert b"hnr-state" in staff.content
    assert other.get(f"/users/{owner.username}/history/bogus/").status_code == 404


def test_peers_and_snatches_with_hidden_members_anonymous(member, moderator):
    torrent = make_torrent(name="Swarmed")
    shy, open_ = make_user("member"), make_user("member")
    hide(shy, show_seeding=False, show_snatched=False)
    snatch(shy, torrent)
    snatch(open_, torrent)
    peers = login(member).get(f"/torrents/{torrent.pk}/peers/").content.decode()
    peer_rows = rows(peers, "peer-row")
    assert len(peer_rows) == 2
    assert sum("Anonymous" in r for r in peer_rows) == 1
    assert open_.username in peers and shy.username not in peers
    snatches = login(member).get(f"/torrents/{torrent.pk}/snatches/").content.decode()
    assert len(rows(snatches, "snatch-row")) == 2
    assert open_.username in snatches and shy.username not in snatches
    staff = login(moderator).get(f"/torrents/{torrent.pk}/peers/").content.decode()
    assert shy.username in staff and "Anonymous" not in staff
    detail = login(member).get(f"/torrents/{torrent.pk}/").content.decode()
    assert f"/torrents/{torrent.pk}/peers/" in detail
    assert f"/torrents/{torrent.pk}/snatches/" in detail


def test_peer_list_of_a_torrent_the_viewer_may_not_see_is_not_found(member):
    pending = make_torrent(status="pending")
    assert login(member).get(f"/torrents/{pending.pk}/peers/").status_code == 404
    deleted = make_torrent()
    deleted.deleted_at = timezone.now()
    deleted.save(update_fields=["deleted_at"])
    assert login(member).get(f"/torrents/{deleted.pk}/snatches/").status_code == 404
    assert Browser().get(f"/torrents/{deleted.pk}/peers/").status_code == 302  # login


def test_promotion_badges_on_the_page_in_browse_and_in_the_lists(member):
    fl = make_torrent(name="Promo.Free", is_freeleech=True)
    neutral = make_torrent(name="Promo.Neutral", is_neutral_leech=True)
    double = make_torrent(name="Promo.Double", is_double_upload=True)
    tokened = make_torrent(name="Promo.Token")
    FreeleechToken.objects.create(user=member, torrent=tokened, status=TokenStatus.ACTIVE,
                                  activated_at=timezone.now())
    b = login(member)
    for t, label in [(fl, "Freeleech"), (neutral, "Neutral"), (double, "2x upload"),
                     (tokened, "Token")]:
        page = b.get(f"/torrents/{t.pk}/").content.decode()
        assert re.search(rf'class="badge promo [a-z-]+"[^>]*>{re.escape(label)}<', page), label
    browse = b.get("/torrents/").content.decode()
    for label in ("Freeleech", "Neutral", "2x upload", "Token"):
        assert f">{label}</span>" in browse
    snatch(member, tokened)
    listing = b.get(f"/users/{member.username}/history/snatched/").content.decode()
    assert ">Token</span>" in listing
    other = login(make_user("member")).get("/torrents/").content.decode()
    assert ">Token</span>" not in other  # a token is its owner's alone
    assert TorrentHistory.objects.filter(user=member).count() == 1
