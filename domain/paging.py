"""Pages of a long list without counting all of it.

Django's Paginator runs SELECT count(*) over every match on every page; on a browse page of
200k torrents that count is most of the page's time and says nothing a member needs beyond
"there are many". `BoundedPaginator` counts at most `cap` rows past the start, through
SELECT count(*) FROM (SELECT ... LIMIT n), which PostgreSQL stops after n rows:

- fewer matches than the limit: the count is exact and the page is Django's, to the last
  page ("Page 3 of 7", "42 matches");
- more: the count is a floor ("Page 1 of 21+", "1,000+ matches"). The limit always reaches
  past the page asked for, so that page exists, has a next page, and its Next link is right;
  a member paging on raises the floor as they go (page 30 counts up to row 1,501).

The API keeps exact totals (it passes no cap)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.utils.functional import cached_property


class BoundedPaginator(Paginator):
    def __init__(self, object_list: Any, per_page: int, *, page: Any = 1,
                 cap: int | None = None) -> None:
        super().__init__(object_list, per_page)
        try:
            number = max(1, int(page))
        except (TypeError, ValueError):
            number = 1
        # One row past the page asked for and past the cap: enough to know "more".
        self.limit = None if cap is None else max(int(cap), number * self.per_page) + 1

    @cached_property
    def count(self) -> int:
        if self.limit is None:
            return int(super().count)
        rows: Any = self.object_list
        rows = rows.order_by()
        if hasattr(rows, "values"):
            # Only the key: the page's annotations (a rank, a visibility EXISTS) are not
            # computed for rows that are only counted; DISTINCT still dedupes by row.
            rows = rows.values("pk")
        return int(rows[: self.limit].count())

    @property
    def count_exact(self) -> bool:
        """False: there are more rows than `count` (which is then a floor)."""
        return self.limit is None or self.count < self.limit

    @property
    def count_display(self) -> str:
        """"42", "1,234" or, when there are more than were counted, "1,000+"."""
        if self.count_exact:
            return f"{self.count:,}"
        return f"{self.count - 1:,}+"

    @property
    def pages_display(self) -> str:
        return f"{self.num_pages:,}" if self.count_exact else f"{self.num_pages:,}+"


def page_bounded(object_list: Any, per_page: int, page: Any, cap: int | None) -> Page:
    """Django's get_page (a bad or too-high number gives page 1 or the last page) with the
    count bounded at `cap` (None: exact)."""
    return BoundedPaginator(object_list, per_page, page=page, cap=cap).get_page(page)
