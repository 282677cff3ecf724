"""The top 10 and the site statistics pages: both read rows beat wrote, nothing live."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from domain.accounts.permissions import Perm, require_perm
from domain.catalog.models import Top10Period
from domain.catalog.sitestats import site_statistics_class_series, site_statistics_series
from domain.catalog.top10 import top10_lists
from frontend.stats.charts import line_chart


@login_required
@require_safe
def top10(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SITE_ACCESS)
    period = request.GET.get("period", Top10Period.DAY)
    if period not in Top10Period.values:
        period = Top10Period.DAY
    return render(request, "stats/top10.html", {
        "lists": top10_lists(period=period), "period": period,
        "periods": Top10Period.choices,
    })


@login_required
@require_safe
def statistics(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SITE_ACCESS)
    series, per_class = site_statistics_series(days=90)
    return render(request, "stats/statistics.html", {
        "charts": [(s, line_chart(s.title, s.points)) for s in series],
        "per_class": sorted(per_class.items(), key=lambda kv: -kv[1]),
        "class_charts": [(s, line_chart(f"Members: {s.title}", s.points))
                         for s in site_statistics_class_series(days=90)],
    })
