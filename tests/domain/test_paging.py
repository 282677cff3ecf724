"""domain.paging.BoundedPaginator: a browse page's count stops at a cap (one bounded
query), is exact below it, and the page asked for, its neighbours and its links stay right
past it; through real queries on PostgreSQL."""

from __future__ import annotations

import pytest
from django.core.paginator import Page
from django.db import connection
from django.test.utils import CaptureQueriesContext

from domain.catalog.models import TorrentCategory, TorrentRequest
from domain.paging import BoundedPaginator, page_bounded
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def bounded(rows, number, cap) -> tuple[Page, BoundedPaginator]:
    paginator = BoundedPaginator(rows, 5, page=number, cap=cap)
    return paginator.get_page(number), paginator


@pytest.fixture
def rows():
    requester = make_user()
    category = TorrentCategory.objects.get(slug="movies-hd")
    TorrentRequest.objects.bulk_create(
        TorrentRequest(requester=requester, category=category, title=f"R{i:02}")
        for i in range(23))
    return TorrentRequest.objects.order_by("title")


def test_below_the_cap_the_count_is_exact_and_pages_end_where_django_ends_them(rows):
    page, paginator = bounded(rows, 5, cap=100)
    assert (paginator.count, paginator.count_exact, paginator.num_pages) == (23, True, 5)
    assert (paginator.count_display, paginator.pages_display) == ("23", "5")
    assert [r.title for r in page] == ["R20", "R21", "R22"] and not page.has_next()
    # Past the end and garbage: Django's answers (the last page, the first page).
    assert page_bounded(rows, 5, 99, cap=100).number == 5
    assert page_bounded(rows, 5, "x", cap=100).number == 1
    assert page_bounded(rows, 5, 5, cap=None).paginator.count == 23


def test_past_the_cap_the_count_is_a_floor_and_the_page_has_a_next(rows):
    page, paginator = bounded(rows, 1, cap=10)
    assert (paginator.count, paginator.count_exact) == (11, False)
    assert (paginator.count_display, paginator.pages_display) == ("10+", "3+")
    assert [r.title for r in page] == ["R00", "R01", "R02", "R03", "R04"]
    assert page.has_next() and page.next_page_number() == 2
    # Paging on past the cap counts one row past the page asked for: page 4 (rows 16-20)
    # exists and knows of a page 5; page 5 reaches the end, where the count is exact.
    page4, paginator4 = bounded(rows, 4, cap=10)
    assert [r.title for r in page4] == [f"R{i}" for i in range(15, 20)] and page4.has_next()
    assert paginator4.count_display == "20+"
    page5, paginator5 = bounded(rows, 5, cap=10)
    assert paginator5.count_exact and paginator5.count == 23
    assert not page5.has_next() and len(page5) == 3


def test_the_count_is_one_bounded_query(rows):
    with CaptureQueriesContext(connection) as captured:
        count = BoundedPaginator(rows, 5, page=1, cap=10).count
    assert count == 11
    (sql,) = [q["sql"] for q in captured.captured_queries]
    assert sql.startswith("SELECT COUNT(*)") and "LIMIT 11" in sql
    assert "ORDER BY" not in sql  # the order does not change a count
