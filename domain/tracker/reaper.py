"""Stale peers: a peer that has not announced within two intervals is gone (its client
crashed, lost the network or was killed without a `stopped`). Announces and scrapes only
count peers inside that window, so counts are right even between runs of this job; the job
removes the leftovers from Redis and from the peers table and puts torrent_statistics'
seeder/leecher figures back in line with the swarm (also right after any restart), and the
seeding/leeching counts and seeding size of the members whose peers it removed (computed as
the flush computes them)."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from domain.tracker.flush import user_peer_counts_refresh
from domain.tracker.models import TorrentStatistics
from domain.tracker.swarm import swarm_counts, swarm_reap


def tracker_reap_stale_peers() -> dict[str, int]:
    now = time.time()
    dropped, active = swarm_reap(now=now)
    cutoff = timezone.now() - timedelta(seconds=2 * int(settings.TRACKER_ANNOUNCE_INTERVAL))
    counts = swarm_counts(active, now=now)
    with transaction.atomic():
        with connection.cursor() as cur:
            # One statement deletes and names the owners (a separate read could miss a peer
            # that went stale between the two).
            # Owners come back once each, with how many of their peers went (after a long
            # outage that can be millions of rows; the owners are far fewer).
            cur.execute("WITH gone AS (DELETE FROM peers WHERE last_announce_at < %s "
                        "RETURNING user_id) SELECT user_id, count(*) FROM gone "
                        "GROUP BY user_id", [cutoff])
            rows = cur.fetchall()
            user_peer_counts_refresh(cur, [str(user_id) for user_id, _ in rows])
        deleted = sum(n for _, n in rows)
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
