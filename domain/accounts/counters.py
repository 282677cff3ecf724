"""Moving user_statistics counters with the rows they count.

Every service that writes a counted row (an upload, a comment, a forum post, a request vote
or fill) calls `statistics_bump` in that same transaction, so a counter never disagrees with
its rows after a commit and a rollback takes both back. The nightly recompute
(domain.bonus.housekeeping.statistics_recompute) corrects whatever drifted anyway (rows
deleted by hand, in admin or by a cascade).

A bump is one UPDATE on the member's row (no read first); decrements stop at zero, since
the counters have CHECK (>= 0) and a recount may already have lowered them. Then the
member's achievements are checked (domain.accounts.achievements), in the
same transaction: they are a consequence of the counted row.
"""

from __future__ import annotations

import uuid

from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest

from domain.accounts.achievements import achievements_check
from domain.accounts.models import STATISTICS_COUNTERS, UserStatistics

#: Counters moved by services outside the tracker (which moves the transfer figures).
ROW_COUNTERS: tuple[str, ...] = ("uploads_count", "comments_count", "forum_posts_count",
                                 "requests_filled_count", "requests_voted_count",
                                 "invites_sent_count")


def statistics_bump(*, user_id: uuid.UUID | None, counter: str, by: int = 1,
                    check_achievements: bool = True) -> None:
    """Add `by` (negative to take) to one counter of one member; nothing for a missing
    member (an account deleted meanwhile). Call inside the transaction of the row."""
    if user_id is None or by == 0:
        return
    if counter not in STATISTICS_COUNTERS:
        raise ValueError(f"unknown user_statistics counter {counter!r}")
    value = F(counter) + by if by > 0 else Greatest(F(counter) + by, Value(0))
    updated = UserStatistics.objects.filter(user_id=user_id).update(**{counter: value})
    if updated and by > 0 and check_achievements:
        achievements_check(user_id=user_id)


# What each row counter counts (the definition the services' bumps follow):
#   uploads_count          approved, not deleted torrents the member uploaded
#   comments_count         not deleted comments (torrents, requests, collections)
#   forum_posts_count      not deleted forum posts (the first post of a topic included)
#   requests_filled_count  not deleted requests the member filled and that are still filled
#   requests_voted_count   not deleted requests the member put bounty on
#   invites_sent_count     invites the member sent (revoked ones too: they were sent)
_ROW_COUNTERS_RECOUNT = """
UPDATE user_statistics us
SET uploads_count = c.uploads, comments_count = c.comments, forum_posts_count = c.posts,
    requests_filled_count = c.filled, requests_voted_count = c.voted,
    invites_sent_count = c.invites, updated_at = now()
FROM (
    SELECT us2.user_id,
           COALESCE(t.n, 0) AS uploads, COALESCE(cm.n, 0) AS comments,
           COALESCE(fp.n, 0) AS posts, COALESCE(rf.n, 0) AS filled,
           COALESCE(rv.n, 0) AS voted, COALESCE(iv.n, 0) AS invites
    FROM user_statistics us2
    LEFT JOIN (SELECT uploader_id AS user_id, COUNT(*) AS n FROM torrents
               WHERE status = 'approved' AND deleted_at IS NULL GROUP BY uploader_id) t
           ON t.user_id = us2.user_id
    LEFT JOIN (SELECT author_id AS user_id, COUNT(*) AS n FROM comments
               WHERE deleted_at IS NULL GROUP BY author_id) cm ON cm.user_id = us2.user_id
    LEFT JOIN (SELECT author_id AS user_id, COUNT(*) AS n FROM forum_posts
               WHERE deleted_at IS NULL GROUP BY author_id) fp ON fp.user_id = us2.user_id
    LEFT JOIN (SELECT filler_id AS user_id, COUNT(*) AS n FROM torrent_requests
               WHERE status = 'filled' AND deleted_at IS NULL GROUP BY filler_id) rf
           ON rf.user_id = us2.user_id
    LEFT JOIN (SELECT v.user_id, COUNT(*) AS n FROM torrent_request_votes v
               JOIN torrent_requests r ON r.id = v.request_id
               WHERE r.deleted_at IS NULL GROUP BY v.user_id) rv ON rv.user_id = us2.user_id
    LEFT JOIN (SELECT inviter_id AS user_id, COUNT(*) AS n FROM invites
               GROUP BY inviter_id) iv ON iv.user_id = us2.user_id
) c
WHERE us.user_id = c.user_id
  AND (us.uploads_count, us.comments_count, us.forum_posts_count, us.requests_filled_count,
       us.requests_voted_count, us.invites_sent_count)
      IS DISTINCT FROM (c.uploads, c.comments, c.posts, c.filled, c.voted, c.invites)
RETURNING us.user_id
"""


def statistics_recount_rows() -> list[uuid.UUID]:
    """Recount every row counter of every member from its rows (the nightly correction);
    returns the members whose counters were wrong, after checking their achievements.

    Hand-written SQL: one UPDATE ... FROM six grouped aggregates, touching only the rows
    that differ (the ORM would need a correlated subquery per row and per column)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_ROW_COUNTERS_RECOUNT)
        fixed = [row[0] for row in cursor.fetchall()]
    for user_id in fixed:
        achievements_check(user_id=user_id)
    return fixed
