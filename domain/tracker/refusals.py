"""Refused transfer claims: recorded with the flush batch that carries them, and put in
front of staff as an auto-flag item in the moderation queue.

The announce script (swarm.py) credits at most what TRACKER_MAX_RATE could carry since the
peer's last announce and a download of at most TRACKER_MAX_DOWNLOAD_FACTOR times the
torrent; what it refused is in the entry ("xu", "xd"). Both writes run inside the flush's
transaction (a replayed batch adds nothing twice) and are plain multi-row statements, so a
batch full of cheaters costs two statements, not one per announce.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from domain.base import TargetType
from domain.moderation.models import AutoFlagKind, QueueSource, QueueStatus

FLAG = "implausible_transfer"


def refused(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries with refused bytes (entries buffered before "xu"/"xd" existed have none)."""
    return [e for e in entries if e.get("xu", 0) > 0 or e.get("xd", 0) > 0]


def refused_claims_write(cur: Any, entries: list[dict[str, Any]]) -> None:
    """One tracker_refused_claims row per refusing announce, and one open auto-flag queue
    item per member (an open item of the member's gets the flag added instead)."""
    rows = refused(entries)
    if not rows:
        return
    cur.execute(
        """INSERT INTO tracker_refused_claims (id, created_at, torrent_id, user_id, peer_id,
               ip, event, uploaded, downloaded, uploaded_credited, downloaded_credited,
               uploaded_refused, downloaded_refused)
           SELECT gen_random_uuid(), * FROM unnest(%s::timestamptz[], %s::uuid[],
               %s::uuid[], %s::bytea[], %s::inet[], %s::text[], %s::bigint[], %s::bigint[],
               %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])""",
        [[datetime.fromtimestamp(e["ts"], UTC) for e in rows], [e["t"] for e in rows],
         [e["u"] for e in rows], [bytes.fromhex(e["pid"]) for e in rows],
         [e["ip"] for e in rows], [e["ev"] for e in rows], [e["up"] for e in rows],
         [e["down"] for e in rows], [e["du"] for e in rows], [e["dd"] for e in rows],
         [e.get("xu", 0) for e in rows], [e.get("xd", 0) for e in rows]])
    implausible_transfer_flag(cur, sorted({e["u"] for e in rows}))


def implausible_transfer_flag(cur: Any, user_ids: list[str]) -> None:
    """An auto-flag item in the moderation queue for each of these members, unless one of
    their open items already carries the flag. Through ON CONFLICT on the queue's "one open
    item per target" index, so a concurrent item made by staff or another flagger never
    fails the flush. (The open statuses are written out: PostgreSQL matches a partial
    index's predicate only against constants, never against bound parameters.)"""
    if not user_ids:
        return
    summary = ("The tracker refused transfer figures no link could carry (see Tracker > "
               "Refused claims for this member).")
    # Staff switch the flag off in admin by deactivating the "Implausible transfer figures"
    # rule (auto_flag_rules): the refused claims are still recorded, no item is queued.
    cur.execute(
        """INSERT INTO moderation_queue (id, created_at, updated_at, target_type, target_id,
               source, status, priority, summary, flags, flag_score, resolution_note)
           SELECT gen_random_uuid(), now(), now(), %s, u, %s, %s, 1, %s, %s::jsonb, 1.0, ''
           FROM unnest(%s::uuid[]) AS u
           WHERE EXISTS (SELECT 1 FROM auto_flag_rules WHERE kind = %s AND is_active)
           ON CONFLICT (target_type, target_id)
               WHERE status IN ('pending', 'claimed', 'escalated')
           DO UPDATE SET flags = moderation_queue.flags || EXCLUDED.flags,
               updated_at = now()
           WHERE NOT moderation_queue.flags @> EXCLUDED.flags""",
        [TargetType.USER.value, QueueSource.AUTO_FLAG.value, QueueStatus.PENDING.value,
         summary, json.dumps([FLAG]), user_ids, AutoFlagKind.TRANSFER_IMPLAUSIBLE.value])
