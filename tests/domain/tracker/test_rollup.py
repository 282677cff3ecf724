"""peer_history rolls up into daily rows exactly once, and late rows are added."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.tracker.models import PeerHistory, PeerHistoryDaily
from domain.tracker.rollup import peer_history_roll_up
from tests.factories import make_torrent

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 24)


def history(member, torrent, at: datetime, up: int, seed: int = 1800) -> PeerHistory:
    return PeerHistory.objects.create(recorded_at=at, torrent=torrent, user=member,
                                      peer_id=os.urandom(20), uploaded_delta=up,
                                      downloaded_delta=up // 2, is_seeder=True,
                                      seedtime_seconds=seed)


def test_old_days_are_summed_per_member_and_torrent_and_recent_rows_stay(member):
    torrent, other = make_torrent(), make_torrent()
    old = datetime(2026, 11, 10, 8, tzinfo=UTC)
    history(member, torrent, old, 100)
    history(member, torrent, old + timedelta(hours=5), 50)
    history(member, other, old, 7)
    history(member, torrent, old + timedelta(days=1), 1)         # another day
    recent = history(member, torrent, datetime(2026, 11, 23, tzinfo=UTC), 9)

    assert peer_history_roll_up(raw_days=7, today=TODAY) == {"days": 2, "rows": 4}

    assert list(PeerHistory.objects.values_list("id", flat=True)) == [recent.id]
    day = PeerHistoryDaily.objects.get(day=date(2026, 11, 10), torrent=torrent, user=member)
    assert (day.uploaded, day.downloaded, day.seedtime_seconds, day.samples) == \
        (150, 75, 3600, 2)
    assert PeerHistoryDaily.objects.get(day=date(2026, 11, 10), torrent=other).uploaded == 7
    assert PeerHistoryDaily.objects.get(day=date(2026, 11, 11)).uploaded == 1


def test_running_twice_adds_nothing_and_late_rows_are_added(member):
    torrent = make_torrent()
    at = datetime(2026, 11, 1, 12, tzinfo=UTC)
    history(member, torrent, at, 100)
    peer_history_roll_up(raw_days=7, today=TODAY)
    assert peer_history_roll_up(raw_days=7, today=TODAY) == {"days": 0, "rows": 0}
    history(member, torrent, at + timedelta(hours=1), 20)   # flushed late
    peer_history_roll_up(raw_days=7, today=TODAY)
    day = PeerHistoryDaily.objects.get(day=date(2026, 11, 1))
    assert (day.uploaded, day.samples) == (120, 2)
    assert PeerHistoryDaily.objects.count() == 1


def test_the_roll_up_refuses_nonsense():
    with pytest.raises(ValueError):
        peer_history_roll_up(raw_days=0)
