"""Done means, for hit-and-run: a real client (libtorrent) downloads through our tracker
and stops; with the clock moved, the job pre-warns, records the hit-and-run and its
warning; the tracker then refuses the same client a new download; the client seeds the
torrent off, and the job clears the hit-and-run, lifts the warning and downloads work
again."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import libtorrent as lt
import pytest
from django.utils import timezone

from domain.catalog.models import Torrent, TorrentCategory
from domain.community.models import Notification
from domain.moderation.models import Warning
from domain.tracker.flush import tracker_flush
from domain.tracker.hnr import hnr_check, member_hnr_status
from domain.tracker.models import TorrentHistory
from tests.announce.swarm import tracker_server  # noqa: F401
from tests.announce.test_real_clients import _add, _buffered_events
from tests.factories import make_user

PIECE = 262_144
SIZE = 3 * PIECE + 4_321


def _torrent(root: Path, name: str, uploader) -> tuple[lt.torrent_info, Torrent]:
    content = root / "seed" / f"{name}.bin"
    content.parent.mkdir(parents=True, exist_ok=True)
    content.write_bytes(bytes(range(256)) * (SIZE // 256) + name.encode()[: SIZE % 256]
                        .ljust(SIZE % 256, b"x"))
    fs = lt.file_storage()
    lt.add_files(fs, str(content))
    ct = lt.create_torrent(fs, PIECE, flags=lt.create_torrent.v1_only)
    ct.set_priv(True)
    lt.set_piece_hashes(ct, str(content.parent))
    info = lt.torrent_info(lt.bencode(ct.generate()))
    row = Torrent.objects.create(
        name=name, info_hash_v1=info.info_hashes().v1.to_bytes(), version="v1",
        category=TorrentCategory.objects.get(slug="movies-hd"), uploader=uploader,
        status="approved", size=SIZE, file_count=1, piece_length=PIECE,
        info_dict=info.info_section())
    return info, row


def _session() -> lt.session:
    return lt.session({
        "listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
        "enable_upnp": False, "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True, "announce_to_all_trackers": True,
        # Our tracker tells clients a 2-second interval here; libtorrent's floor is 5 min.
        "min_announce_interval": 1,
        "alert_mask": lt.alert_category.status | lt.alert_category.tracker
        | lt.alert_category.error,
    })


def _wait(pred, seconds: float, *sessions: lt.session) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for s in sessions:
            s.pop_alerts()
        if pred():
            return True
        time.sleep(0.2)
    return pred()


def _tracker_errors(ses: lt.session, seconds: float) -> list[str]:
    found: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not found:
        for a in ses.pop_alerts():
            if isinstance(a, lt.tracker_error_alert):
                found.append(a.failure_reason() or a.message())
        time.sleep(0.2)
    return found


def _stopped(n: int) -> bool:
    return sum(b'"ev":"stopped"' in e for e in _buffered_events()) >= n


@pytest.mark.django_db(transaction=True)
def test_real_client_hit_and_run_lifecycle(tmp_path, tracker_server, settings):  # noqa: F811
    settings.TRACKER_MIN_INTERVAL = 0
    settings.TRACKER_ANNOUNCE_INTERVAL = 2
    settings.HNR_SEED_HOURS = 6 / 3600  # six seconds of seeding settle it
    settings.HNR_GRACE_HOURS = 1
    settings.HNR_PREWARN_NOTICE_HOURS = 1
    settings.HNR_MAX_ACTIVE = 1
    uploader, member = make_user("uploader"), make_user("member")
    info_a, owed = _torrent(tmp_path, "Owed.Release", uploader)
    info_b, _later = _torrent(tmp_path, "Later.Release", uploader)
    seeder, leecher = _session(), _session()
    up = f"{tracker_server}/announce/{uploader.passkey}"
    mine = f"{tracker_server}/announce/{member.passkey}"
    _add(seeder, info_a, tmp_path / "seed", up)
    _add(seeder, info_b, tmp_path / "seed", up)

    # 1. Download and stop at once (short of the rule).
    ha = _add(leecher, info_a, tmp_path / "leech", mine)
    assert _wait(lambda: ha.status().is_seeding, 90, seeder, leecher), ha.status().state
    leecher.remove_torrent(ha)
    assert _wait(lambda: _stopped(1), 30, seeder, leecher)
    tracker_flush()
    h = TorrentHistory.objects.get(user=member, torrent=owed)
    assert h.completed_at is not None and h.downloaded_raw >= SIZE
    assert h.seedtime_seconds < 6 and h.seeding_until is None

    # 2. The clock moves: pre-warning, then after the grace the hit-and-run and a warning.
    now = timezone.now()
    assert hnr_check(now=now + timedelta(minutes=1)).prewarned == 1
    assert Notification.objects.filter(user=member, target_type="hit_and_run_prewarning",
                                       title__startswith="Keep seeding Owed.Release").exists()
    assert hnr_check(now=now + timedelta(hours=2, minutes=2)).recorded == 1
    warning = Warning.objects.get(user=member, source="hnr")
    assert warning.revoked_at is None and "Owed.Release" in warning.reason
    assert not member_hnr_status(user_id=member.pk).downloads_allowed

    # 3. The tracker refuses the same client a new download (within the job's commit).
    hb = _add(leecher, info_b, tmp_path / "leech", mine)
    errors = _tracker_errors(leecher, 20)
    assert any("hit-and-run" in e for e in errors), errors
    assert not hb.status().is_seeding and hb.status().total_wanted_done == 0
    leecher.remove_torrent(hb)

    # 4. Seeding it off: the client seeds the data it kept, announcing every 2 s.
    ha = _add(leecher, info_a, tmp_path / "leech", mine)

    def seeded_off() -> bool:
        tracker_flush()
        return TorrentHistory.objects.get(pk=h.pk).seedtime_seconds >= 6

    assert _wait(seeded_off, 90, seeder, leecher), \
        TorrentHistory.objects.get(pk=h.pk).seedtime_seconds
    result = hnr_check()
    assert result.cleared == 1
    warning.refresh_from_db()
    assert warning.revoked_at is not None
    assert Notification.objects.filter(user=member,
                                        title="Hit-and-run cleared: Owed.Release").exists()
    assert member_hnr_status(user_id=member.pk).downloads_allowed

    # 5. Downloads work again for the same client.
    hb = _add(leecher, info_b, tmp_path / "leech", mine)
    assert _wait(lambda: hb.status().is_seeding, 90, seeder, leecher), hb.status().state
    assert (tmp_path / "leech" / "Later.Release.bin").read_bytes() == \
        (tmp_path / "seed" / "Later.Release.bin").read_bytes()
