"""Live seeder/leecher counts to a torrent's page.

The announce path publishes straight to the channel layer rather than through
`publish`: it writes no database transaction to wait for (the swarm in Redis is
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

from domain.events import PeersCounts, publish_now
from domain.tracker.swarm import swarm_trailing_counts_async

log = logging.getLogger(__name__)

async def peers_counts_send(*, torrent_id: str, seeders: int, leechers: int,
                            snatches: int) -> None:
    await publish_now(PeersCounts(torrent_id=torrent_id, payload={
        "torrent_id": torrent_id, "seeders": seeders, "leechers": leechers,
        "snatches": snatches}))


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
