"""Stale peers: a peer that has not announced within two intervals is gone (its client
crashed, lost the network or was killed without a `stopped`). Announces and scrapes only
count peers inside that window, so counts are right even between runs of this job; the job
removes the leftovers from Redis and from the peers table and puts torrent_statistics'
seeder/leecher figures back in line with the swarm (also right after any restart)."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from domain.tracker.models import Peer, TorrentStatistics
from domain.tracker.swarm import swarm_counts, swarm_reap


def tracker_reap_stale_peers() -> dict[str, int]:
    now = time.time()
    dropped, active = swarm_reap(now=now)
    cutoff = timezone.now() - timedelta(seconds=2 * int(settings.TRACKER_ANNOUNCE_INTERVAL))
    counts = swarm_counts(active, now=now)
    with transaction.atomic():
        deleted = Peer.objects.filter(last_announce_at__lt=cutoff).delete()[0]
        # Torrents with no live swarm left have no seeders or leechers.
        TorrentStatistics.objects.exclude(torrent_id__in=active).filter(
            seeders__gt=0).update(seeders=0, updated_at=timezone.now())
        TorrentStatistics.objects.exclude(torrent_id__in=active).filter(
            leechers__gt=0).update(leechers=0, updated_at=timezone.now())
        for tid, (seeders, leechers, _snatches) in zip(active, counts, strict=True):
            TorrentStatistics.objects.filter(torrent_id=tid).exclude(
                seeders=seeders, leechers=leechers).update(
                seeders=seeders, leechers=leechers, updated_at=timezone.now())
    return {"redis_peers": dropped, "db_peers": deleted, "active_torrents": len(active)}
