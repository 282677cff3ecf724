"""Live seeder/leecher counts to a torrent's page.

The announce path publishes straight to the channel layer rather than through
`publish_on_commit`: it writes no database transaction to wait for (the swarm in Redis is
already updated), and the swarm script throttles it to once per
TRACKER_PEER_COUNTS_THROTTLE_MS per torrent, and only for torrents whose group has a member
(someone has the page open). Delivery is best effort, like every event.
"""

from __future__ import annotations

import logging
from typing import Any

from channels.layers import get_channel_layer

from domain.events import torrent_group

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
