"""Live seeder/leecher counts to a torrent's page.

The announce path publishes straight to the channel layer rather than through
`publish_on_commit`: it writes no database transaction to wait for (the swarm in Redis is
already updated), and the swarm script throttles it to once per
TRACKER_PEER_COUNTS_THROTTLE_MS per torrent, and only for torrents whose group has a member
(someone has the page open). A change inside a window is not lost: the first one marks the
torrent, and its process sends the counts current at the window's end
(`peers_counts_send_trailing`), once across all processes. Delivery is best effort, like
every event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from channels.layers import get_channel_layer

from domain.events import torrent_group
from domain.tracker.swarm import swarm_trailing_counts_async

log = logging.getLogger(__name__)

PEERS_COUNTS = "peers.counts"


def peers_counts_event(*, torrent_id: str, seeders: int, leechers: int, snatches: int
                       ) -> dict[str, Any]:
    return {"type": PEERS_COUNTS,
            "payload": {"torrent_id": torrent_id, "seeders": seeders, "leechers": leechers,
                        "snatches": snatches}}


async def peers_counts_send(*, torrent_id: str, seeders: int, leechers: int,
                            snatches: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(torrent_group(torrent_id), peers_counts_event(
            torrent_id=torrent_id, seeders=seeders, leechers=leechers, snatches=snatches))
    except Exception:
        log.exception("publishing peer counts of %s failed", torrent_id)


async def peers_counts_send_trailing(*, torrent_id: str, delay_ms: int, window: str) -> None:
    """After a throttled change: wait for the window to end, then publish the counts of
    that moment (unless an announce has published since)."""
    try:
        await asyncio.sleep(delay_ms / 1000)
        counts = await swarm_trailing_counts_async(torrent_id, window=window, now=time.time())
    except Exception:
        log.exception("reading peer counts of %s for a trailing publish failed", torrent_id)
        return
    if counts is not None:
        await peers_counts_send(torrent_id=torrent_id, seeders=counts[0], leechers=counts[1],
                                snatches=counts[2])
