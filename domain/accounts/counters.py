"""Moving user_statistics counters with the rows they count.

Every service that writes a counted row (an upload, a comment, a forum post, a request vote
or fill) calls `statistics_bump` in that same transaction, so a counter never disagrees with
its rows after a commit and a rollback takes both back. The nightly recompute
(domain.bonus.housekeeping.statistics_recompute) corrects whatever drifted anyway (rows
deleted by hand, in admin or by a cascade).

A bump is one UPDATE on the member's row (no read first); decrements stop at zero, since
the counters have CHECK (>= 0) and a recount may already have lowered them. Then the
member's achievements are checked (domain.accounts.services.achievements_check), in the
same transaction: they are a consequence of the counted row.
"""

from __future__ import annotations

import uuid

from django.db.models import F, Value
from django.db.models.functions import Greatest

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
        from domain.accounts.services import achievements_check

        achievements_check(user_id=user_id)
