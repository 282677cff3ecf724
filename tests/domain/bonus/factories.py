"""Test data for the economy: tracker rows as the tracker's flush writes them, and funded
members (through the staff adjustment service, so the ledger stays whole)."""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.accounts.models import User
from domain.bonus.services import bonus_adjust
from domain.tracker.models import Peer, PeerHistory, TorrentStatistics
from tests.factories import make_user

HOUR = 3600


def history(*, user: User, torrent: Any, recorded_at: datetime, seedtime: int = HOUR,
            downloaded: int = 0, peer_id: bytes | None = None) -> PeerHistory:
    return PeerHistory.objects.create(
        user=user, torrent=torrent, recorded_at=recorded_at,
        peer_id=peer_id or os.urandom(20), is_seeder=seedtime > 0,
        seedtime_seconds=seedtime, downloaded_delta=downloaded)


def peer(*, user: User, torrent: Any, seeder: bool = True, **extra: Any) -> Peer:
    return Peer.objects.create(user=user, torrent=torrent, peer_id=os.urandom(20),
                               ip="127.0.0.1", port=6881, is_seeder=seeder,
                               left=0 if seeder else 1, **extra)


def seeders(torrent: Any, count: int) -> TorrentStatistics:
    stats, _ = TorrentStatistics.objects.update_or_create(torrent=torrent,
                                                          defaults={"seeders": count})
    return stats



def fund(user: User, points: str | int | Decimal) -> None:
    staff = User.objects.filter(group__name="sysop", username__startswith="treasurer").first()
    if staff is None:
        staff = make_user("sysop", username=f"treasurer{os.urandom(3).hex()}")
    bonus_adjust(acting_user=staff, user_id=user.pk, amount=str(points), reason="test funds")
    user.refresh_from_db()
